/// The rate-limit part of `/api/gateway`: each policy with admitted/rejected totals and per
/// second (over the time since the previous sample), the most limited keys, and the key table.
public struct RateLimitView: Encodable, Sendable {
    public struct PolicyView: Encodable, Sendable {
        public let name: String
        public let scope: String
        public let traffic: String
        public let rate: Double
        public let burst: Int
        public let admitted: UInt64
        public let rejected: UInt64
        public let admittedPerSecond: Double?
        public let rejectedPerSecond: Double?
        public let topLimitedKeys: [RateLimitStatistics.LimitedKey]
    }

    public struct KeyView: Encodable, Sendable {
        public let policy: String
        public let key: String
        public let rejected: UInt64
    }

    public let policies: [PolicyView]
    public let admitted: UInt64
    public let rejected: UInt64
    public let keys: Int
    public let maxKeys: Int
    public let evictedKeys: UInt64
    /// The most rejected keys over every policy, most first.
    public let topLimitedKeys: [KeyView]

    init(_ limiter: GatewayRateLimit, now: UInt64) {
        let (current, previous, seconds) = limiter.sample(now: now)
        policies = current.policies.map { policy in
            let before = previous?.policies.first { $0.name == policy.name }
            func rate(_ value: UInt64, _ old: UInt64?) -> Double? {
                guard let old, seconds > 0 else { return nil }
                return Double(value &- old) / seconds
            }
            return PolicyView(
                name: policy.name, scope: policy.scope.rawValue, traffic: policy.traffic.rawValue, rate: policy.rate, burst: policy.burst,
                admitted: policy.admitted, rejected: policy.rejected,
                admittedPerSecond: rate(policy.admitted, before?.admitted), rejectedPerSecond: rate(policy.rejected, before?.rejected),
                topLimitedKeys: policy.topLimitedKeys
            )
        }
        admitted = current.admitted
        rejected = current.rejected
        keys = current.keys
        maxKeys = current.maxKeys
        evictedKeys = current.evictedKeys
        topLimitedKeys = Array(current.policies.flatMap { policy in policy.topLimitedKeys.map { KeyView(policy: policy.name, key: $0.key, rejected: $0.rejected) } }
            .sorted { $0.rejected > $1.rejected }.prefix(10))
    }
}

/// The cache part of `/api/gateway`.
public struct CacheView: Encodable, Sendable {
    public let hits: UInt64
    public let misses: UInt64
    public let staleHits: UInt64
    public let bypasses: UInt64
    /// hits / (hits + misses), 0 before any lookup.
    public let hitRatio: Double
    public let entries: Int
    public let bytes: Int
    public let byteBudget: Int
    public let evictions: UInt64
    public let invalidations: UInt64

    init(_ statistics: CacheStatistics) {
        hits = statistics.hits
        misses = statistics.misses
        staleHits = statistics.staleHits
        bypasses = statistics.bypasses
        let lookups = statistics.hits + statistics.misses
        hitRatio = lookups == 0 ? 0 : Double(statistics.hits) / Double(lookups)
        entries = statistics.entries
        bytes = statistics.bytes
        byteBudget = statistics.byteBudget
        evictions = statistics.evictions
        invalidations = statistics.invalidations
    }
}
