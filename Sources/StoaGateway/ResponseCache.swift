/// The gateway's cache of GET list/view responses, per user, within a byte budget.
/// A pure value: no I/O, no clock; `now` is monotonic nanoseconds from the caller.
///
/// Contract:
/// - An entry is fresh while younger than `ttlNanos`, stale until `ttlNanos + staleForNanos`
///   (the shell serves stale entries only when every node is down), then gone.
/// - Only 200 responses are stored; storing a 4xx drops the entry for that key, other statuses
///   change nothing.
/// - `bytes` (body + header names and values + key) never exceeds `byteBudget`: storing evicts
///   least recently used entries first; a response larger than the whole budget is not stored.
/// - `invalidate(user:collection:recordID:)` drops that user's lists of the collection and the
///   view of the record, `invalidateAll(user:collection:)` every list and view of that user in the
///   collection; nothing of other users (they see the write after at most the TTL).
public struct ResponseCache: Sendable {
    public let byteBudget: Int
    public let ttlNanos: UInt64
    public let staleForNanos: UInt64

    struct Entry: Sendable {
        var response: CachedResponse
        var byteCount: Int
        var target: ResponseCachePathTarget?
    }

    struct Group: Hashable, Sendable {
        var user: String
        var collection: String
    }

    var table = LRUTable<CacheKey, Entry>()
    /// The keys of record lists and views per user and collection, for `invalidate`.
    var groups: [Group: Set<CacheKey>] = [:]
    private(set) var bytes = 0
    private var hits: UInt64 = 0
    private var misses: UInt64 = 0
    private var staleHits: UInt64 = 0
    private var bypasses: UInt64 = 0
    private var evictions: UInt64 = 0
    private var invalidations: UInt64 = 0
    private var expirations: UInt64 = 0

    /// - Precondition: `byteBudget` ≥ 0.
    public init(byteBudget: Int, ttlNanos: UInt64, staleForNanos: UInt64) {
        precondition(byteBudget >= 0, "byteBudget must not be negative")
        self.byteBudget = byteBudget
        self.ttlNanos = ttlNanos
        self.staleForNanos = staleForNanos
    }

    /// Bytes an entry counts against the budget.
    public static func byteCount(_ key: CacheKey, _ response: CachedResponse) -> Int {
        key.byteCount + response.byteCount
    }

    /// Fresh within the TTL (and marked recently used), stale within TTL + stale window, else a
    /// miss (and an expired entry is dropped). Counts a hit or a miss (stale counts as a miss).
    public mutating func lookup(_ key: CacheKey, now: UInt64) -> CacheLookup {
        let answer = peek(key, now: now)
        switch answer {
        case .fresh:
            hits += 1
            table.touch(table.slot(of: key)!)
        case .stale:
            misses += 1
        case .miss:
            misses += 1
            if let slot = table.slot(of: key) {
                remove(slot)
                expirations += 1
            }
        }
        return answer
    }

    /// The entry for `key` when fresh, with its age in whole seconds (marked recently used and
    /// counted as a hit, as `lookup` would); nil otherwise, and then nothing is counted, marked
    /// or dropped (the caller looks again with `lookup`). One search of the table.
    public mutating func freshHit(_ key: CacheKey, now: UInt64) -> (response: CachedResponse, ageSeconds: Int)? {
        guard let slot = table.slot(of: key) else { return nil }
        let response = table[slot].response
        let age = Self.age(of: response, now: now)
        guard age < ttlNanos else { return nil }
        hits += 1
        table.touch(slot)
        return (response, Self.seconds(age))
    }

    /// What `lookup` would answer, without counting it, marking it used or dropping it: for a
    /// second look at a key in the same request (e.g. for a stale copy after the upstream failed).
    public func peek(_ key: CacheKey, now: UInt64) -> CacheLookup {
        guard let slot = table.slot(of: key) else { return .miss }
        let response = table[slot].response
        let age = Self.age(of: response, now: now)
        let ageSeconds = Self.seconds(age)
        if age < ttlNanos { return .fresh(response, ageSeconds: ageSeconds) }
        if age - ttlNanos < staleForNanos { return .stale(response, ageSeconds: ageSeconds) }
        return .miss
    }

    /// Nanoseconds since `response` was stored (0 for a clock reading before it).
    static func age(of response: CachedResponse, now: UInt64) -> UInt64 {
        now > response.storedAt ? now - response.storedAt : 0
    }

    /// Whole seconds of `nanos` (for `Age`).
    static func seconds(_ nanos: UInt64) -> Int { Int(nanos / 1_000_000_000) }

    /// Stores a 200 response as of `now` (its `storedAt` is set to `now`), replacing any entry for
    /// `key` and evicting least recently used entries to stay within the budget. A 4xx answer
    /// drops the entry for `key` (the record is gone or no longer visible to the user, so it must
    /// not come back as a stale copy); any other status leaves the entry alone (a 5xx is no reason
    /// to lose the copy served when no node can answer).
    public mutating func store(_ key: CacheKey, _ response: CachedResponse, now: UInt64) {
        guard response.status == 200 || (400..<500).contains(response.status) else { return }
        if let existing = table.slot(of: key) { remove(existing) }
        let size = Self.byteCount(key, response)
        guard response.status == 200, size <= byteBudget else { return }
        while bytes + size > byteBudget, let victim = table.leastRecent {
            remove(victim)
            evictions += 1
        }
        var stored = response
        stored.storedAt = now
        let target = ResponseCachePathTarget(path: key.path)
        table.insert(key, Entry(response: stored, byteCount: size, target: target))
        bytes += size
        if let target {
            groups[Group(user: key.user, collection: target.collection), default: []].insert(key)
        }
    }

    /// Drops the entries of `user` a write to `collection` affects: every list
    /// (`/api/collections/{collection}/records`, any query) and, when `recordID` is given, the
    /// view `/api/collections/{collection}/records/{recordID}` (any query). Other users' entries
    /// stay. Returns how many were dropped. `collection` must be spelled as in the cached paths
    /// (the shell invalidates both the id and the name when it knows both).
    @discardableResult
    public mutating func invalidate(user: String, collection: String, recordID: String?) -> Int {
        guard let keys = groups[Group(user: user, collection: collection)] else { return 0 }
        var dropped = 0
        for key in keys {
            guard let slot = table.slot(of: key), let target = table[slot].target else { continue }
            if target.recordID == nil || target.recordID == recordID {
                remove(slot)
                dropped += 1
            }
        }
        invalidations += UInt64(dropped)
        return dropped
    }

    /// Drops every entry of `user` in `collection`: its lists and the views of every record (for
    /// a write that may touch any of them, such as `POST /api/sync`). Returns how many were
    /// dropped; O(entries of that user in that collection).
    @discardableResult
    public mutating func invalidateAll(user: String, collection: String) -> Int {
        guard let keys = groups[Group(user: user, collection: collection)] else { return 0 }
        var dropped = 0
        for key in keys {
            guard let slot = table.slot(of: key) else { continue }
            remove(slot)
            dropped += 1
        }
        invalidations += UInt64(dropped)
        return dropped
    }

    /// Drops every entry (counted as invalidations); returns how many.
    @discardableResult
    public mutating func removeAll() -> Int {
        let dropped = table.count
        while let slot = table.leastRecent { remove(slot) }
        invalidations += UInt64(dropped)
        return dropped
    }

    /// Drops every entry past the TTL and the stale window; O(entries). The shell MAY call it
    /// periodically to return memory early (the budget holds without it).
    public mutating func removeExpired(now: UInt64) {
        var slot = table.leastRecent
        while let current = slot {
            slot = table.moreRecent(than: current)
            let storedAt = table[current].response.storedAt
            if now > storedAt, now - storedAt >= ttlNanos, now - storedAt - ttlNanos >= staleForNanos {
                remove(current)
                expirations += 1
            }
        }
    }

    /// Counts what only the shell sees.
    public mutating func record(_ event: CacheEvent) {
        switch event {
        case .bypass: bypasses += 1
        case .staleServed: staleHits += 1
        }
    }

    public var statistics: CacheStatistics {
        CacheStatistics(
            hits: hits, misses: misses, staleHits: staleHits, bypasses: bypasses, entries: table.count, bytes: bytes,
            byteBudget: byteBudget, evictions: evictions, invalidations: invalidations, expirations: expirations
        )
    }

    private mutating func remove(_ slot: Int) {
        let (key, entry) = table.remove(slot)
        bytes -= entry.byteCount
        if let target = entry.target {
            let group = Group(user: key.user, collection: target.collection)
            groups[group]?.remove(key)
            if groups[group]?.isEmpty == true { groups[group] = nil }
        }
    }
}
