import Dispatch
import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import Synchronization

/// The shell around the pure ``ResponseCache``: serves record lists and views per user with
/// `X-Cache-Status` (HIT, MISS, BYPASS, STALE) and `Age`, makes one upstream request for
/// concurrent misses on a key (``RequestCoalescer``), serves stale entries only when no node
/// can answer, and drops a user's affected entries when that user writes.
///
/// A write also moves the user's generation on: a fetch that began before the write finished
/// does not store its (possibly older) answer.
public final class GatewayCache: Sendable {
    private let cache: Mutex<ResponseCache>
    private let coalescer = RequestCoalescer<CacheKey, ProxiedResponse>()
    private let generations = Mutex<[String: UInt64]>([:])
    private let outcomes: [String: Metrics.Counter] = Dictionary(uniqueKeysWithValues: ["HIT", "MISS", "BYPASS", "STALE"].map {
        ($0, Metrics.Counter(label: "stoa_gateway_cache_total", dimensions: [("status", $0.lowercased())]))
    })
    /// Headers of a node's answer kept with a cached entry.
    static let keptHeaders: Set<String> = ["content-type", "cache-control", "etag", "last-modified", "vary"]

    public init(byteBudget: Int, ttlNanos: UInt64, staleForNanos: UInt64) {
        cache = Mutex(ResponseCache(byteBudget: byteBudget, ttlNanos: ttlNanos, staleForNanos: staleForNanos))
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The key of a read: the user ("" for guests), the path and the query with its parameters sorted.
    public static func key(user: String?, path: String, query: String?) -> CacheKey {
        CacheKey(user: user ?? "", path: path, query: CacheKey.normalizedQuery(query ?? ""))
    }

    public var statistics: CacheStatistics { cache.withLock { $0.statistics } }

    /// Drops what a write by `user` affects (see ``ResponseCache/invalidate(user:collection:recordID:)``).
    public func invalidate(user: String, collection: String, recordID: String?) {
        generations.withLock { $0[user, default: 0] &+= 1 }
        cache.withLock { _ = $0.invalidate(user: user, collection: collection, recordID: recordID) }
    }

    private func generation(of user: String) -> UInt64 { generations.withLock { $0[user] ?? 0 } }

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

    /// Answers a cacheable read: from the cache when fresh, else from `fetch` (coalesced per
    /// key), falling back to a stale entry when `fetch` finds no node.
    func respond(key: CacheKey, request: Request, fetch: @escaping @Sendable () async throws -> ProxiedResponse) async -> Response {
        if Self.asksNoCache(request.headers) {
            record("BYPASS")
            do { return Self.tag(GatewayResponder.response(try await fetch()), "BYPASS", age: nil) } catch {
                return await staleOr(error, key: key)
            }
        }
        let lookup = cache.withLock { $0.lookup(key, now: Self.now()) }
        if case .fresh(let entry, let age) = lookup {
            record("HIT")
            return Self.tag(Self.response(entry), "HIT", age: age)
        }
        let generation = generation(of: key.user)
        do {
            let (answer, _) = try await coalescer.run(key) {
                let answer = try await fetch()
                // The cache keeps 200s, drops the key on a 4xx and keeps its entry over a 5xx.
                if case .buffer(let body) = answer.body, self.generation(of: key.user) == generation {
                    let headers = answer.headers.filter { Self.keptHeaders.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
                    let now = Self.now()
                    let entry = CachedResponse(status: Int(answer.status.code), headers: headers, body: Array(body.readableBytesView), storedAt: now)
                    self.cache.withLock { $0.store(key, entry, now: now) }
                }
                return answer
            }
            record("MISS")
            return Self.tag(GatewayResponder.response(answer), "MISS", age: nil)
        } catch {
            return await staleOr(error, key: key)
        }
    }

    /// True when `Cache-Control` or `Pragma` says `no-cache`.
    static func asksNoCache(_ headers: HTTPFields) -> Bool {
        guard headers.contains(.cacheControl) || headers.contains(.pragma) else { return false }
        return headers[values: .cacheControl].contains { $0.lowercased().contains("no-cache") }
            || headers[.pragma]?.lowercased().contains("no-cache") == true
    }

    /// When no node could answer, the entry past its freshness (within the stale window) is
    /// served as STALE; otherwise the failure is answered.
    private func staleOr(_ error: any Error, key: CacheKey) async -> Response {
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

    static func response(_ entry: CachedResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in entry.headers { if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) } }
        return Response(status: HTTPResponse.Status(code: entry.status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: entry.body)))
    }

    static func tag(_ response: Response, _ status: String, age: Int?) -> Response {
        var response = response
        response.headers[.xCacheStatus] = status
        if let age { response.headers[.age] = String(age) }
        return response
    }
}
