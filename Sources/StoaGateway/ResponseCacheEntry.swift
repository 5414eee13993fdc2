/// A response as the cache keeps it.
public struct CachedResponse: Sendable {
    public var status: Int
    /// The headers to replay (the shell leaves out hop-by-hop and per-response ones).
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// When it was stored (monotonic nanoseconds); `ResponseCache.store` sets it.
    public var storedAt: UInt64

    public init(status: Int, headers: [(String, String)], body: [UInt8], storedAt: UInt64 = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.storedAt = storedAt
    }

    /// Bytes the response counts against the cache budget: body plus header names and values.
    var byteCount: Int { headers.reduce(body.count) { $0 + $1.0.utf8.count + $1.1.utf8.count } }
}

/// The answer of `ResponseCache.lookup`; `ageSeconds` is whole seconds since stored (for `Age`).
public enum CacheLookup: Sendable {
    /// Younger than the TTL: serve it.
    case fresh(CachedResponse, ageSeconds: Int)
    /// Past the TTL but within the stale window: serve it only when no node can answer.
    case stale(CachedResponse, ageSeconds: Int)
    case miss
}

/// What the shell reports that the cache cannot see itself.
public enum CacheEvent: Sendable {
    /// A request that was not looked up (not cacheable: a write, `Cache-Control: no-cache`, ...).
    case bypass
    /// A stale entry was served because every node was down.
    case staleServed
}

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
