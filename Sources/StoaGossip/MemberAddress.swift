/// A gossip endpoint address, used for join seeds before the name of the member listening
/// there is known, and as the destination of every ``SWIMDirective/send(_:to:)``.
public struct MemberAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.host, lhs.port) < (rhs.host, rhs.port)
    }

    /// `host:port`.
    public var description: String { "\(host):\(port)" }
}
