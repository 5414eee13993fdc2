import StoaGossip

/// Everything `stoa gateway` is configured with.
public struct GatewayConfiguration: Sendable {
    public var httpHost: String
    public var httpPort: Int
    /// The gateway's SWIM membership (gossip address, join seeds, cluster key).
    public var membership: GatewayMembership.Configuration
    /// The HS256 secret nodes sign tokens with; without it every caller counts as a guest for
    /// limiting, and requests carrying a token bypass the cache.
    public var tokenSecret: String?
    /// Rate-limit policies evaluated together; empty turns limiting off.
    public var policies: [RateLimitPolicy]
    /// Peers whose `X-Forwarded-For` is believed.
    public var trustedProxies: [CIDR]
    /// Most keys the limiter tracks (LRU beyond it).
    public var maxLimiterKeys: Int
    /// Cache byte budget; 0 turns caching off.
    public var cacheBytes: Int
    public var cacheTTLNanos: UInt64
    /// How long past its freshness an entry may be served while no node can answer.
    public var cacheStaleNanos: UInt64
    /// PEM certificate chain and private key for TLS; plain HTTP when nil.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Largest request body accepted.
    public var maxBodyBytes: Int
    /// Longest wait for one node's answer, in seconds.
    public var upstreamTimeoutSeconds: Int64

    /// The defaults mirror what Traefik did in front of PocketBase: 100 requests/s with a burst
    /// of 100 per client address and per user.
    public static let defaultPolicies = ["ip:ip:all:100:100", "user:user:all:100:100"]

    public init(httpHost: String, httpPort: Int, membership: GatewayMembership.Configuration, tokenSecret: String? = nil,
                policies: [RateLimitPolicy] = [], trustedProxies: [CIDR] = [], maxLimiterKeys: Int = 100_000,
                cacheBytes: Int = 64 << 20, cacheTTLNanos: UInt64 = 5_000_000_000, cacheStaleNanos: UInt64 = 300_000_000_000,
                tlsCertificatePath: String? = nil, tlsKeyPath: String? = nil, maxBodyBytes: Int = 32 << 20, upstreamTimeoutSeconds: Int64 = 30) {
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.membership = membership
        self.tokenSecret = tokenSecret
        self.policies = policies
        self.trustedProxies = trustedProxies
        self.maxLimiterKeys = maxLimiterKeys
        self.cacheBytes = cacheBytes
        self.cacheTTLNanos = cacheTTLNanos
        self.cacheStaleNanos = cacheStaleNanos
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.maxBodyBytes = maxBodyBytes
        self.upstreamTimeoutSeconds = upstreamTimeoutSeconds
    }
}
