import Dispatch
import Metrics
import NIOCore
import NIOHTTP1
import Synchronization

/// The shell around the pure ``ResponseCache``: serves record lists and views per user with
/// `X-Cache-Status` (HIT, MISS, BYPASS, STALE) and `Age`, makes one upstream request for
/// concurrent misses on a key (``RequestCoalescer``), serves stale entries only when no node
/// can answer, and drops a user's affected entries when that user writes.
///
/// A write also moves the user's generation on: a fetch that began before the write finished
/// does not store its (possibly older) answer.
///
/// With other gateways, hits are served only within the lease ``GatewayCacheSync`` publishes
/// (``setLease(until:)``): outside it a read is fetched as on a miss. ``flush()`` drops
/// everything and moves every user's generation on.
public final class GatewayCache: Sendable {
    private let cache: Mutex<ResponseCache>
    private let coalescer = RequestCoalescer<CacheKey, ProxiedResponse>()
    private let generations = Mutex<(all: UInt64, users: [String: UInt64])>((0, [:]))
    /// Until when (monotonic nanoseconds) hits may be served.
    private let leaseUntil = Atomic<UInt64>(.max)
    private let outcomes: [String: Metrics.Counter] = Dictionary(uniqueKeysWithValues: ["HIT", "MISS", "BYPASS", "STALE"].map {
        ($0, Metrics.Counter(label: "stoa_gateway_cache_total", dimensions: [("status", $0.lowercased())]))
    })
    /// `outcomes["HIT"]`, held apart: a hit looks up nothing.
    private let hits: Metrics.Counter
    /// Headers of a node's answer kept with a cached entry.
    static let keptHeaders: Set<String> = ["content-type", "cache-control", "etag", "last-modified", "vary"]

    public init(byteBudget: Int, ttlNanos: UInt64, staleForNanos: UInt64) {
        cache = Mutex(ResponseCache(byteBudget: byteBudget, ttlNanos: ttlNanos, staleForNanos: staleForNanos))
        hits = outcomes["HIT"]!
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The key of a read: the user ("" for guests), the path and the query as the node reads it
    /// (``CacheKey/normalizedQuery(_:)``).
    public static func key(user: String?, path: String, query: String?) -> CacheKey {
        CacheKey(user: user ?? "", path: path, query: CacheKey.normalizedQuery(query ?? ""))
    }

    public var statistics: CacheStatistics { cache.withLock { $0.statistics } }

    /// Drops what a write by `user` affects (see ``ResponseCache/invalidate(user:collection:recordID:)``).
    public func invalidate(user: String, collection: String, recordID: String?) {
        generations.withLock { $0.users[user, default: 0] &+= 1 }
        cache.withLock { _ = $0.invalidate(user: user, collection: collection, recordID: recordID) }
    }

    /// Drops every list and view of `user` in `collection` (see ``ResponseCache/invalidateAll(user:collection:)``).
    public func invalidateAll(user: String, collection: String) {
        generations.withLock { $0.users[user, default: 0] &+= 1 }
        cache.withLock { _ = $0.invalidateAll(user: user, collection: collection) }
    }

    /// Drops every entry; fetches under way store nothing.
    public func flush() {
        generations.withLock { $0.all &+= 1 }
        cache.withLock { _ = $0.removeAll() }
    }

    /// Hits may be served until `until` (monotonic nanoseconds; `.max`: always).
    public func setLease(until: UInt64) {
        leaseUntil.store(until, ordering: .releasing)
    }

    /// True while hits may be served.
    func leased(now: UInt64) -> Bool { now < leaseUntil.load(ordering: .acquiring) }

    private func generation(of user: String) -> (all: UInt64, user: UInt64) {
        generations.withLock { ($0.all, $0.users[user] ?? 0) }
    }

    /// Counts an answer's cache status (hits and misses are counted by the cache's lookups;
    /// bypasses and stale answers only the shell sees).
    private func record(_ status: String) {
        outcomes[status]?.increment()
        switch status {
        case "BYPASS": cache.withLock { $0.record(.bypass) }
        case "STALE": cache.withLock { $0.record(.staleServed) }
        default: break
        }
    }

    /// The fresh entry for `key` as a HIT, or nil when the client asks for no cache or there is
    /// none (nothing counted then: ``respond(key:headers:fetch:)`` looks again and counts).
    /// Answers a hit without leaving the caller's thread.
    func hit(key: CacheKey, headers: HTTPHeaders, now: UInt64 = GatewayCache.now()) -> GatewayResponse? {
        if Self.asksNoCache(headers) { return nil }
        guard leased(now: now) else { return nil }
        // Built under the cache's lock, which guards a prepared hit's memo of its headers.
        let hit = cache.withLock { cache -> GatewayResponse? in
            guard let (entry, age) = cache.freshHit(key, now: now) else { return nil }
            return Self.hitResponse(entry, age: age)
        }
        if hit != nil { hits.increment() }
        return hit
    }

    /// A fresh entry's answer as a HIT with its `Age`. Call it under the cache's lock.
    static func hitResponse(_ entry: CachedResponse, age: Int) -> GatewayResponse {
        if let prepared = entry.prepared as? PreparedHit { return prepared.response(ageSeconds: age) }
        return tag(response(entry), "HIT", age: age)
    }

    /// Answers a cacheable read: from the cache when fresh, else from `fetch` (coalesced per
    /// key), falling back to a stale entry when `fetch` finds no node.
    func respond(key: CacheKey, headers: HTTPHeaders, fetch: @escaping @Sendable () async throws -> ProxiedResponse) async -> GatewayResponse {
        if Self.asksNoCache(headers) {
            record("BYPASS")
            do { return Self.tag(GatewayResponse(try await fetch()), "BYPASS", age: nil) } catch {
                return await staleOr(error, key: key)
            }
        }
        let now = Self.now()
        let fresh = !leased(now: now) ? nil : cache.withLock { cache -> GatewayResponse? in
            guard case .fresh(let entry, let age) = cache.lookup(key, now: now) else { return nil }
            return Self.hitResponse(entry, age: age)
        }
        if let fresh {
            hits.increment()
            return fresh
        }
        let generation = generation(of: key.user)
        do {
            let (answer, _) = try await coalescer.run(key) {
                let answer = try await fetch()
                // The cache keeps 200s, drops the key on a 4xx and keeps its entry over a 5xx.
                if case .buffer(let body) = answer.body, self.generation(of: key.user) == generation {
                    let headers = answer.headers.filter { Self.keptHeaders.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
                    let now = Self.now()
                    // The body is kept once, in the prepared answer (and counted as such).
                    let prepared = PreparedHit(status: answer.status, kept: headers, body: body)
                    let entry = CachedResponse(
                        status: Int(answer.status.code), headers: headers, body: [], storedAt: now,
                        prepared: prepared, preparedBytes: body.readableBytes
                    )
                    self.cache.withLock { $0.store(key, entry, now: now) }
                }
                return answer
            }
            record("MISS")
            return Self.tag(GatewayResponse(answer), "MISS", age: nil)
        } catch {
            return await staleOr(error, key: key)
        }
    }

    /// True when `Cache-Control` or `Pragma` says `no-cache`.
    static func asksNoCache(_ headers: HTTPHeaders) -> Bool {
        guard headers.contains(name: "cache-control") || headers.contains(name: "pragma") else { return false }
        return headers["cache-control"].contains { $0.lowercased().contains("no-cache") }
            || headers["pragma"].contains { $0.lowercased().contains("no-cache") }
    }

    /// When no node could answer, the entry past its freshness (within the stale window) is
    /// served as STALE; otherwise the failure is answered.
    private func staleOr(_ error: any Error, key: CacheKey) async -> GatewayResponse {
        let lookup = cache.withLock { $0.peek(key, now: Self.now()) }
        switch lookup {
        case .fresh(let entry, let age), .stale(let entry, let age):
            record("STALE")
            return Self.tag(Self.response(entry), "STALE", age: age)
        case .miss:
            record("MISS")
            return Self.tag(GatewayResponder.unavailable(error), "MISS", age: nil)
        }
    }

    static func response(_ entry: CachedResponse) -> GatewayResponse {
        var headers = HTTPHeaders()
        for (name, value) in entry.headers { headers.add(name: name, value: value) }
        let body = (entry.prepared as? PreparedHit)?.body ?? ByteBuffer(bytes: entry.body)
        return GatewayResponse(status: HTTPResponseStatus(statusCode: entry.status), headers: headers, body: .buffer(body))
    }

    static func tag(_ response: GatewayResponse, _ status: String, age: Int?) -> GatewayResponse {
        var response = response
        response.headers.replaceOrAdd(name: "X-Cache-Status", value: status)
        if let age { response.headers.replaceOrAdd(name: "Age", value: String(age)) }
        return response
    }
}
