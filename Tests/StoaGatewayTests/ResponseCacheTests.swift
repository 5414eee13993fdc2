import Testing
@testable import StoaGateway

private let second: UInt64 = 1_000_000_000

private func response(_ body: String, status: Int = 200) -> CachedResponse {
    CachedResponse(status: status, headers: [("content-type", "application/json")], body: Array(body.utf8))
}

private func list(_ user: String, _ collection: String = "quotes", query: String = "") -> CacheKey {
    CacheKey(user: user, path: "/api/collections/\(collection)/records", query: query)
}

private func view(_ user: String, _ id: String, _ collection: String = "quotes", query: String = "") -> CacheKey {
    CacheKey(user: user, path: "/api/collections/\(collection)/records/\(id)", query: query)
}

private func body(_ lookup: CacheLookup) -> String? {
    switch lookup {
    case .fresh(let response, _), .stale(let response, _): String(decoding: response.body, as: UTF8.self)
    case .miss: nil
    }
}

private func kind(_ lookup: CacheLookup) -> String {
    switch lookup {
    case .fresh(_, let age): "fresh \(age)"
    case .stale(_, let age): "stale \(age)"
    case .miss: "miss"
    }
}

@Suite("Response cache")
struct ResponseCacheTests {
    @Test("a stored 200 is fresh within the TTL, stale within the stale window, then a miss")
    func freshStaleExpired() {
        var cache = ResponseCache(byteBudget: 1 << 20, ttlNanos: 10 * second, staleForNanos: 60 * second)
        let key = list("ann")
        #expect(kind(cache.lookup(key, now: 0)) == "miss")
        cache.store(key, response("[1]"), now: 5 * second)
        #expect(kind(cache.lookup(key, now: 5 * second)) == "fresh 0")
        #expect(kind(cache.lookup(key, now: 15 * second - 1)) == "fresh 9")
        #expect(body(cache.lookup(key, now: 15 * second - 1)) == "[1]")
        #expect(kind(cache.lookup(key, now: 15 * second)) == "stale 10")
        #expect(kind(cache.lookup(key, now: 75 * second - 1)) == "stale 69")
        // peek answers the same without counting, touching or dropping.
        #expect(kind(cache.peek(key, now: 75 * second - 1)) == "stale 69")
        #expect(kind(cache.peek(key, now: 75 * second)) == "miss")
        #expect(cache.statistics.entries == 1)
        #expect(kind(cache.lookup(key, now: 75 * second)) == "miss")
        #expect(cache.statistics.entries == 0)  // dropped when found expired
        #expect(kind(cache.lookup(key, now: 75 * second)) == "miss")
        let stats = cache.statistics
        #expect(stats.hits == 3 && stats.misses == 5 && stats.expirations == 1 && stats.bytes == 0)
    }

    @Test("freshHit answers a fresh entry as lookup does (counted, marked used); otherwise nil, counting, marking and dropping nothing")
    func freshHitIsLookupOfFreshOnly() {
        var cache = ResponseCache(byteBudget: 1 << 20, ttlNanos: 10 * second, staleForNanos: 60 * second)
        let key = list("ann")
        #expect(cache.freshHit(key, now: 0) == nil)
        cache.store(key, response("[1]"), now: 5 * second)
        let hit = cache.freshHit(key, now: 15 * second - 1)
        #expect(hit.map { String(decoding: $0.response.body, as: UTF8.self) } == "[1]" && hit?.ageSeconds == 9)
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 0)
        #expect(cache.freshHit(key, now: 15 * second) == nil, "stale")
        #expect(cache.freshHit(key, now: 80 * second) == nil, "expired")
        #expect(cache.statistics.hits == 1 && cache.statistics.misses == 0 && cache.statistics.entries == 1)
        // Marked used: with room for two entries, storing a third evicts the other one.
        let budget = ResponseCache.byteCount(key, response("[1]")) * 2
        var small = ResponseCache(byteBudget: budget, ttlNanos: 10 * second, staleForNanos: 0)
        small.store(key, response("[1]"), now: 0)
        small.store(list("bob"), response("[2]"), now: 1)
        #expect(small.freshHit(key, now: 2) != nil)
        small.store(list("cid"), response("[3]"), now: 3)
        #expect(kind(small.peek(key, now: 4)) == "fresh 0" && kind(small.peek(list("bob"), now: 4)) == "miss")
    }

    @Test("keys differ by user, path and query; storing again replaces; only 200s are stored, a 4xx drops the key")
    func keysAndReplacement() {
        var cache = ResponseCache(byteBudget: 1 << 20, ttlNanos: 10 * second, staleForNanos: 0)
        cache.store(list("ann"), response("ann"), now: 0)
        cache.store(list("bob"), response("bob"), now: 0)
        cache.store(list("ann", query: "page=2"), response("ann2"), now: 0)
        #expect(body(cache.lookup(list("ann"), now: 1)) == "ann")
        #expect(body(cache.lookup(list("bob"), now: 1)) == "bob")
        #expect(body(cache.lookup(list("ann", query: "page=2"), now: 1)) == "ann2")
        #expect(kind(cache.lookup(list("carol"), now: 1)) == "miss")
        cache.store(list("ann"), response("ann-v2"), now: 2 * second)
        #expect(kind(cache.lookup(list("ann"), now: 2 * second)) == "fresh 0")
        #expect(body(cache.lookup(list("ann"), now: 2 * second)) == "ann-v2")
        cache.store(view("ann", "r1"), response("{}", status: 404), now: 0)
        #expect(kind(cache.lookup(view("ann", "r1"), now: 0)) == "miss")
        // A 5xx keeps the copy (for stale serving); a 4xx drops it.
        cache.store(list("bob"), response("down", status: 503), now: 3 * second)
        #expect(body(cache.lookup(list("bob"), now: 3 * second)) == "bob")
        cache.store(list("bob"), response("gone", status: 403), now: 3 * second)
        #expect(kind(cache.lookup(list("bob"), now: 3 * second)) == "miss")
        #expect(cache.statistics.entries == 2)
        // With no stale window an entry is a miss right at the TTL.
        #expect(kind(cache.lookup(list("ann", query: "page=2"), now: 10 * second)) == "miss")
    }

    @Test("a write drops that user's lists and the one view, and nothing of other users")
    func invalidation() {
        var cache = ResponseCache(byteBudget: 1 << 20, ttlNanos: 60 * second, staleForNanos: 0)
        let annKeys = [
            list("ann"), list("ann", query: "page=2&perPage=5"), view("ann", "r1"), view("ann", "r1", query: "expand=author"),
            view("ann", "r2"), list("ann", "authors"), view("ann", "r1", "authors"),
            CacheKey(user: "ann", path: "/api/health", query: ""),
        ]
        let bobKeys = [list("bob"), view("bob", "r1"), view("bob", "r2")]
        let guestKeys = [list(""), view("", "r1")]
        for key in annKeys + bobKeys + guestKeys { cache.store(key, response(key.path), now: 0) }
        #expect(cache.invalidate(user: "ann", collection: "quotes", recordID: "r1") == 4)
        let remaining = (annKeys + bobKeys + guestKeys).filter { kind(cache.lookup($0, now: 1)) != "miss" }
        #expect(remaining == [view("ann", "r2"), list("ann", "authors"), view("ann", "r1", "authors"), annKeys[7]] + bobKeys + guestKeys)
        // A create (no record id) drops only the lists.
        #expect(cache.invalidate(user: "bob", collection: "quotes", recordID: nil) == 1)
        #expect(kind(cache.lookup(view("bob", "r1"), now: 1)) == "fresh 0")
        #expect(cache.invalidate(user: "nobody", collection: "quotes", recordID: "r1") == 0)
        #expect(cache.statistics.invalidations == 5)
        #expect(cache.groups[ResponseCache.Group(user: "ann", collection: "quotes")] == [view("ann", "r2")])
    }

    @Test("invalidateAll drops every list and view of one user in one collection, nothing else")
    func invalidateAll() {
        var cache = ResponseCache(byteBudget: 1 << 20, ttlNanos: 3600 * second, staleForNanos: 0)
        let ann = [list("ann"), list("ann", query: "page=2"), view("ann", "r1"), view("ann", "r2", query: "fields=id")]
        let others = [list("ann", "users"), view("ann", "r1", "users"), list("bob"), view("bob", "r1"), list("")]
        for key in ann + others { cache.store(key, response("[]"), now: 0) }
        #expect(cache.invalidateAll(user: "ann", collection: "quotes") == 4)
        #expect(ann.allSatisfy { kind(cache.lookup($0, now: 1)) == "miss" })
        #expect(others.allSatisfy { kind(cache.lookup($0, now: 1)) == "fresh 0" })
        #expect(cache.groups[ResponseCache.Group(user: "ann", collection: "quotes")] == nil)
        #expect(cache.invalidateAll(user: "ann", collection: "quotes") == 0)
        #expect(cache.statistics.invalidations == 4)
        #expect(cache.statistics.entries == others.count)
    }

    @Test("the byte budget is never exceeded and the least recently used entries go first")
    func byteBudgetLRU() {
        let key0 = list("u0")
        let entrySize = ResponseCache.byteCount(key0, response(String(repeating: "x", count: 100)))
        var cache = ResponseCache(byteBudget: 10 * entrySize, ttlNanos: 3600 * second, staleForNanos: 0)
        for i in 0..<10 { cache.store(list("u\(i)"), response(String(repeating: "x", count: 100)), now: 0) }
        #expect(cache.statistics.bytes == 10 * entrySize && cache.statistics.entries == 10)
        // Use u0 and u1: u2 is now the least recently used.
        _ = cache.lookup(list("u0"), now: 1)
        _ = cache.lookup(list("u1"), now: 1)
        cache.store(list("v0"), response(String(repeating: "x", count: 100)), now: 2)
        #expect(kind(cache.lookup(list("u2"), now: 3)) == "miss")
        #expect(kind(cache.lookup(list("u0"), now: 3)) == "fresh 0")
        // A response needing the room of three entries evicts the next three in LRU order.
        let big = response(String(repeating: "y", count: 2 * entrySize + 100))
        #expect(ResponseCache.byteCount(list("bg"), big) == 3 * entrySize)
        cache.store(list("bg"), big, now: 4)
        #expect(cache.statistics.bytes == 10 * entrySize)
        for i in [3, 4, 5] { #expect(kind(cache.lookup(list("u\(i)"), now: 5)) == "miss") }
        for name in ["u6", "u7", "u8", "u9", "v0", "u1", "u0", "bg"] { #expect(kind(cache.lookup(list(name), now: 5)) == "fresh 0") }
        #expect(cache.statistics.evictions == 4)
        // Larger than the whole budget: not stored, nothing evicted.
        cache.store(list("huge"), response(String(repeating: "z", count: 10 * entrySize)), now: 6)
        #expect(kind(cache.lookup(list("huge"), now: 6)) == "miss")
        #expect(cache.statistics.evictions == 4)

        // Random sizes and keys: the budget holds after every store.
        var random = ResponseCache(byteBudget: 50_000, ttlNanos: 3600 * second, staleForNanos: 0)
        var state: UInt64 = 3
        func next(_ bound: UInt64) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % bound)
        }
        for step in 0..<5_000 {
            let key = view("u\(next(20))", "r\(next(50))")
            random.store(key, response(String(repeating: "a", count: next(4_000))), now: UInt64(step))
            #expect(random.statistics.bytes <= 50_000)
            if next(4) == 0 { random.invalidate(user: "u\(next(20))", collection: "quotes", recordID: "r\(next(50))") }
        }
        #expect(random.statistics.evictions > 0)
        // The byte count matches the entries actually held.
        var held = 0
        var slot = random.table.leastRecent
        while let current = slot {
            held += random.table[current].byteCount
            slot = random.table.moreRecent(than: current)
        }
        #expect(held == random.statistics.bytes)
    }

    @Test("removeExpired drops only entries past the stale window; bypasses and stale serves are counted")
    func sweepAndCounters() {
        var cache = ResponseCache(byteBudget: 1 << 20, ttlNanos: 10 * second, staleForNanos: 5 * second)
        cache.store(list("b"), response("b"), now: 4 * second)
        cache.store(list("a"), response("a"), now: 0)  // older, but not the least recently used
        cache.store(list("c"), response("c"), now: 5 * second)
        cache.removeExpired(now: 15 * second - 1)
        #expect(cache.statistics.entries == 3)
        cache.removeExpired(now: 15 * second)
        #expect(cache.statistics.entries == 2 && kind(cache.lookup(list("a"), now: 15 * second)) == "miss")
        #expect(kind(cache.lookup(list("b"), now: 15 * second)) == "stale 11")
        cache.removeExpired(now: 20 * second)
        #expect(cache.statistics.entries == 0 && cache.statistics.bytes == 0)
        cache.record(.staleServed)
        cache.record(.bypass)
        cache.record(.bypass)
        let stats = cache.statistics
        #expect(stats.staleHits == 1 && stats.bypasses == 2 && stats.misses == 2 && stats.expirations == 3)
    }

    @Test("query normalization sorts parameters and drops empty ones")
    func normalizedQuery() {
        #expect(CacheKey.normalizedQuery("sort=-created&page=2") == "page=2&sort=-created")
        #expect(CacheKey.normalizedQuery("page=2&&sort=-created&") == "page=2&sort=-created")
        #expect(CacheKey.normalizedQuery("") == "")
        #expect(ResponseCachePathTarget(path: "/api/collections/quotes/records") == ResponseCachePathTarget(path: "/api/collections/quotes/records/"))
        #expect(ResponseCachePathTarget(path: "/api/collections/quotes/records/abc")?.recordID == "abc")
        #expect(ResponseCachePathTarget(path: "/api/collections/quotes/records/abc/x") == nil)
        #expect(ResponseCachePathTarget(path: "/api/collections/quotes") == nil)
    }
}
