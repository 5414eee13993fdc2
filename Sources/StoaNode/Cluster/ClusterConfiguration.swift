import StoaGossip

/// How a node takes part in a cluster.
public struct ClusterConfiguration: Sendable {
    /// Address for gossip: UDP probes and TCP change streams share this host and port
    /// (port 0 picks a free one, logged as `gossip listening on HOST:PORT`).
    public var gossipHost: String
    public var gossipPort: Int
    /// Gossip addresses of members to join through (any live one is enough).
    public var join: [MemberAddress]
    /// The cluster keys (primary first): every cluster message is sealed with the primary, and
    /// opened with any of them. Shared with whoever reloads keys (SIGHUP).
    public var keyring: ClusterKeyring
    /// This node's HTTP base URL, announced to the other members.
    public var httpURL: String
    public var swim: SWIMConfiguration
    public var replication: ReplicationConfiguration
    /// How often the protocol machines get a tick.
    public var tickMillis: UInt64
    /// Largest accepted TCP frame (of an authenticated connection).
    public var maxFrameBytes: Int
    /// Bounds on inbound stream connections.
    public var streamLimits: StreamLimits
    /// Largest datagram read; a longer one is dropped and counted (SWIM messages are far smaller).
    public var maxDatagramBytes: Int

    public static let defaultMaxDatagramBytes = 8 << 10
    public static let defaultMaxFrameBytes = 8 << 20

    public init(
        gossipHost: String, gossipPort: Int, join: [MemberAddress], keyring: ClusterKeyring, httpURL: String,
        swim: SWIMConfiguration = .init(), replication: ReplicationConfiguration = .init(),
        tickMillis: UInt64 = 50, maxFrameBytes: Int = defaultMaxFrameBytes, streamLimits: StreamLimits = .init(),
        maxDatagramBytes: Int = defaultMaxDatagramBytes
    ) {
        self.gossipHost = gossipHost
        self.gossipPort = gossipPort
        self.join = join
        self.keyring = keyring
        self.httpURL = httpURL
        self.swim = swim
        self.replication = replication
        self.tickMillis = tickMillis
        self.maxFrameBytes = maxFrameBytes
        self.streamLimits = streamLimits
        self.maxDatagramBytes = maxDatagramBytes
    }
}
