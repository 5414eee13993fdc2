/// Counters of a `RateLimiter`, totals since it started (the shell derives per-second rates).
/// Rejections are counted here, never logged one line each.
public struct RateLimitStatistics: Sendable, Hashable, Codable {
    /// A key rejected often by one policy. `rejected` is a lower bound (Space-Saving count minus
    /// its possible error), exact for a key monitored since its first rejection.
    public struct LimitedKey: Sendable, Hashable, Codable {
        public var key: String
        public var rejected: UInt64

        public init(key: String, rejected: UInt64) {
            self.key = key
            self.rejected = rejected
        }
    }

    public struct Policy: Sendable, Hashable, Codable {
        public var name: String
        public var scope: RateLimitScope
        public var traffic: RateLimitTraffic
        public var rate: Double
        public var burst: Int
        /// Admitted requests this policy applied to.
        public var admitted: UInt64
        /// Requests this policy rejected (a request rejected by two policies counts in both).
        public var rejected: UInt64
        /// The most rejected keys, most first (at most `RateLimiter.topKeysReported`).
        public var topLimitedKeys: [LimitedKey]
    }

    public var policies: [Policy]
    /// Requests admitted (including those no policy applied to).
    public var admitted: UInt64
    /// Requests rejected by at least one policy.
    public var rejected: UInt64
    /// Entries in the key table now (one per policy and key not back at idle), ≤ `maxKeys`.
    public var keys: Int
    public var maxKeys: Int
    /// Entries dropped because they were idle (full burst again) or unseen for the idle TTL.
    public var expiredKeys: UInt64
    /// Entries dropped, while still limited, to stay within `maxKeys` (their debt was forgiven).
    public var evictedKeys: UInt64
}
