/// The answer of `ResponseCache.lookup`; `ageSeconds` is whole seconds since stored (for `Age`).
public enum CacheLookup: Sendable {
    /// Younger than the TTL: serve it.
    case fresh(CachedResponse, ageSeconds: Int)
    /// Past the TTL but within the stale window: serve it only when no node can answer.
    case stale(CachedResponse, ageSeconds: Int)
    case miss
}
