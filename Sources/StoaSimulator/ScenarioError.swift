/// Why a scenario file could not be used. The message names the file and what is wrong.
public struct ScenarioError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
