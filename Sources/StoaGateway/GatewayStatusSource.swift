/// Gathers what `/api/gateway` (and the `/_/` dashboard) shows: each node's state and traffic,
/// the rate-limit policies with admitted/rejected per second and the most limited keys, and the
/// cache's hit ratio, entries and bytes.
public struct GatewayStatusSource: Sendable {
    let pool: NodePool
    let membership: GatewayMembership?
    let limiter: GatewayRateLimit?
    let cache: GatewayCache?
    let startedAt: UInt64

    public init(pool: NodePool, membership: GatewayMembership?, limiter: GatewayRateLimit?, cache: GatewayCache?, startedAt: UInt64) {
        self.pool = pool
        self.membership = membership
        self.limiter = limiter
        self.cache = cache
        self.startedAt = startedAt
    }

    public struct Snapshot: Encodable, Sendable {
        public let uptimeSeconds: Double
        /// This gateway's member name.
        public let name: String?
        public let gossip: String?
        /// The other gateways in the membership (they share limits and caches with this one).
        public let gateways: [GatewayMembership.PeerView]
        public let nodes: [NodePool.Snapshot]
        public let rateLimit: RateLimitView?
        public let cache: CacheView?
    }

    func snapshot(now: UInt64) async -> Snapshot {
        var gossip: String?
        if let membership, let port = await membership.gossipPort { gossip = "\(membership.configuration.gossipHost):\(port)" }
        return Snapshot(
            uptimeSeconds: Double(now &- startedAt) / 1e9, name: membership?.configuration.name, gossip: gossip,
            gateways: await membership?.peerViews() ?? [], nodes: pool.snapshot(now: now),
            rateLimit: limiter.map { RateLimitView($0, now: now) }, cache: cache.map { CacheView($0.statistics) }
        )
    }
}
