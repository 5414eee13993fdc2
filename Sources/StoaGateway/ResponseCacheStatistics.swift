/// Counters of a `ResponseCache`, totals since it started.
public struct CacheStatistics: Sendable, Hashable, Codable {
    /// Lookups answered `fresh`.
    public var hits: UInt64
    /// Lookups answered `miss` or `stale` (the shell went upstream).
    public var misses: UInt64
    /// Stale entries served because every node was down (reported with `record(.staleServed)`).
    public var staleHits: UInt64
    /// Requests that did not use the cache (reported with `record(.bypass)`).
    public var bypasses: UInt64
    public var entries: Int
    /// Bytes counted against the budget now (always ≤ `byteBudget`).
    public var bytes: Int
    public var byteBudget: Int
    /// Entries dropped to stay within the budget.
    public var evictions: UInt64
    /// Entries dropped by `invalidate`.
    public var invalidations: UInt64
    /// Entries dropped because they were past the TTL and the stale window.
    public var expirations: UInt64
}
