import StoaGossip

/// Everything `stoa gateway` is configured with.
public struct GatewayConfiguration: Sendable {
    public var httpHost: String
    public var httpPort: Int
    /// The admin listener (`/_/`, `/api/gateway`, `/metrics`; plain HTTP); port 0 picks a free one.
    public var adminHost: String
    public var adminPort: Int
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
    /// The client port's bounds (body sizes, idle and head timeouts, open connections).
    public var limits: GatewayServerLimits
    /// Longest wait for one node's answer, in seconds.
    public var upstreamTimeoutSeconds: Int64

    /// The defaults mirror what Traefik did in front of PocketBase: 100 requests/s with a burst
    /// of 100 per client address and per user; plus PocketBase's own default rule for its
    /// authentication endpoints (`*:auth`: 2 requests per 3 s), per client address.
    public static let defaultPolicies = ["ip:ip:all:100:100", "user:user:all:100:100", "auth:ip:auth:0.666667:2"]

    /// The admin listener's address unless told otherwise (loopback: the pages show node
    /// addresses, client addresses and user ids).
    public static let defaultAdminHTTP = "127.0.0.1:8089"

    /// The admin listener's bounds: the client port's, with fewer connections.
    public static let adminLimits = GatewayServerLimits(maxBodyBytes: 64 << 10, maxRealtimeBodyBytes: 64 << 10, maxConnections: 64)

    public init(httpHost: String, httpPort: Int, adminHost: String = "127.0.0.1", adminPort: Int = 8089, membership: GatewayMembership.Configuration,
                tokenSecret: String? = nil, policies: [RateLimitPolicy] = [], trustedProxies: [CIDR] = [], maxLimiterKeys: Int = 100_000,
                cacheBytes: Int = 64 << 20, cacheTTLNanos: UInt64 = 5_000_000_000, cacheStaleNanos: UInt64 = 300_000_000_000,
                tlsCertificatePath: String? = nil, tlsKeyPath: String? = nil, limits: GatewayServerLimits = GatewayServerLimits(),
                upstreamTimeoutSeconds: Int64 = 30) {
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.adminHost = adminHost
        self.adminPort = adminPort
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
        self.limits = limits
        self.upstreamTimeoutSeconds = upstreamTimeoutSeconds
    }
}
