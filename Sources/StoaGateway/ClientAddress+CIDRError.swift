/// A trusted-proxy block that cannot be parsed; `description` says why, for the operator.
public struct CIDRError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
