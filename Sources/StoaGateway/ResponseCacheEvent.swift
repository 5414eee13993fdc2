/// What the shell reports that the cache cannot see itself.
public enum CacheEvent: Sendable {
    /// A request that was not looked up (not cacheable: a write, `Cache-Control: no-cache`, ...).
    case bypass
    /// A stale entry was served because every node was down.
    case staleServed
}
