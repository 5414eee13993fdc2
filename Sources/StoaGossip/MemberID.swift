/// The identity of one cluster member: its node name (unique in the cluster) and the address
/// its gossip endpoint listens on.
///
/// Members order by name, then host, then port, so every listing of members is deterministic.
public struct MemberID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The node name, e.g. `n1`. Replication addresses peers by this name.
    public let name: String
    /// The host of the gossip endpoint.
    public let host: String
    /// The port of the gossip endpoint.
    public let port: Int

    public init(name: String, host: String, port: Int) {
        self.name = name
        self.host = host
        self.port = port
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.name, lhs.host, lhs.port) < (rhs.name, rhs.host, rhs.port)
    }

    /// `name@host:port`.
    public var description: String { "\(name)@\(host):\(port)" }
}

extension MemberID {
    /// Where this member's gossip endpoint listens.
    public var address: MemberAddress { MemberAddress(host: host, port: port) }
}
