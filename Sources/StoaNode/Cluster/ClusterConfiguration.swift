import StoaGossip

/// How a node takes part in a cluster.
public struct ClusterConfiguration: Sendable {
    /// Address for gossip: UDP probes and TCP change streams share this host and port
    /// (port 0 picks a free one, logged as `gossip listening on HOST:PORT`).
    public var gossipHost: String
    public var gossipPort: Int
    /// Gossip addresses of members to join through (any live one is enough).
    public var join: [MemberAddress]
    /// The shared cluster key; every cluster message is authenticated with it.
    public var clusterKey: String
    /// This node's HTTP base URL, announced to the other members.
    public var httpURL: String
    public var swim: SWIMConfiguration
    public var replication: ReplicationConfiguration
    /// How often the protocol machines get a tick.
    public var tickMillis: UInt64
    /// Largest accepted TCP frame.
    public var maxFrameBytes: Int

    public init(
        gossipHost: String, gossipPort: Int, join: [MemberAddress], clusterKey: String, httpURL: String,
        swim: SWIMConfiguration = .init(), replication: ReplicationConfiguration = .init(),
        tickMillis: UInt64 = 50, maxFrameBytes: Int = 8 << 20
    ) {
        self.gossipHost = gossipHost
        self.gossipPort = gossipPort
        self.join = join
        self.clusterKey = clusterKey
        self.httpURL = httpURL
        self.swim = swim
        self.replication = replication
        self.tickMillis = tickMillis
        self.maxFrameBytes = maxFrameBytes
    }
}
