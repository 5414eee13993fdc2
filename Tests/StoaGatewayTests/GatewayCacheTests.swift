import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing
@testable import StoaGateway
@testable import StoaNode

@Suite("GatewayCache: X-Cache-Status, Age, coalescing, invalidation, stale only when no node answers")
struct GatewayCacheTests {
    static let path = "/api/collections/quotes/records"

    static func request(headers: HTTPHeaders = [:]) -> HTTPHeaders { headers }

    static func answer(_ text: String) -> ProxiedResponse {
        ProxiedResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .buffer(ByteBuffer(string: text)), node: "n1")
    }

    static func body(_ response: GatewayResponse) throws -> String {
        try #require(response.text)
    }

    let cache = GatewayCache(byteBudget: 1 << 20, ttlNanos: 60_000_000_000, staleForNanos: 600_000_000_000)
    let key = GatewayCache.key(user: "u1", path: path, query: "page=1&perPage=5")

    @Test("the query's parameters are sorted into the key; each user has their own entries")
    func keys() {
        #expect(GatewayCache.key(user: "u1", path: Self.path, query: "b=2&a=1") == GatewayCache.key(user: "u1", path: Self.path, query: "a=1&b=2"))
        #expect(GatewayCache.key(user: "u1", path: Self.path, query: nil) != GatewayCache.key(user: "u2", path: Self.path, query: nil))
        #expect(GatewayCache.key(user: nil, path: Self.path, query: nil).user == "")
    }

    @Test("a name sent twice is keyed on its first value, as the node reads it: filter=a&filter=b and filter=b&filter=a are two keys; spellings of one name count as one")
    func repeatedParameters() {
        func key(_ query: String) -> CacheKey { GatewayCache.key(user: "u1", path: Self.path, query: query) }
        #expect(key("filter=a&filter=b") != key("filter=b&filter=a"))
        #expect(key("filter=a&filter=b") == key("filter=a"))
        #expect(key("filter=a&sort=x&filter=b") == key("sort=x&filter=a"))
        #expect(key("%66ilter=b&filter=a") != key("filter=a&%66ilter=b"), "one name, two spellings: the first wins at the node")
        #expect(key("%66ilter=b&filter=a") == key("%66ilter=b"))
        #expect(key("a+b=1&a%20b=2") == key("a+b=1"))
        #expect(key("&&page=2&&") == key("page=2"))
    }

    @Test("equal keys mean equal parameters for the node (StoaNode's FormQuery), over shuffled queries with repeated and encoded names")
    func keysAgreeWithTheNode() {
        var rng = SystemRandomNumberGenerator()
        let names = ["filter", "%66ilter", "sort", "s%6Frt", "page", "a+b", "a%20b", "fields", "%zz", "x="]
        let values = ["a", "b", "%27q%27", "", "c+d", "c%20d"]
        var checked = 0
        for _ in 0..<2000 {
            let parameters = (0..<Int.random(in: 1...5, using: &rng)).map { _ in
                names.randomElement(using: &rng)! + "=" + values.randomElement(using: &rng)!
            }
            let query = parameters.joined(separator: "&")
            let shuffled = parameters.shuffled(using: &rng).joined(separator: "&")
            let sameKey = GatewayCache.key(user: "", path: Self.path, query: query) == GatewayCache.key(user: "", path: Self.path, query: shuffled)
            let node = (FormQuery(query), FormQuery(shuffled))
            let sameForNode = Set(names + ["x", "a b"]).allSatisfy { name in
                node.0.get(CacheKey.formDecoded(Substring(name))) == node.1.get(CacheKey.formDecoded(Substring(name)))
            }
            if sameKey {
                #expect(sameForNode, "\(query) and \(shuffled) share a key but the node reads them differently")
                checked += 1
            }
        }
        #expect(checked > 100)
    }

    @Test("POST /api/sync drops every cached list and view of the user's quotes; a record write drops the lists and that view; other users and reads keep theirs")
    func writesInvalidate() async throws {
        let list = GatewayCache.key(user: "u1", path: Self.path, query: "perPage=5")
        let viewA = GatewayCache.key(user: "u1", path: Self.path + "/aaaaaaaaaaaaaaa", query: nil)
        let viewB = GatewayCache.key(user: "u1", path: Self.path + "/bbbbbbbbbbbbbbb", query: "fields=id")
        let usersView = GatewayCache.key(user: "u1", path: "/api/collections/users/records/u1", query: nil)
        let othersList = GatewayCache.key(user: "u2", path: Self.path, query: "perPage=5")
        let all = [list, viewA, viewB, usersView, othersList]
        func fill() async {
            for key in all { _ = await cache.respond(key: key, headers: [:], fetch: { Self.answer("old") }) }
        }
        func cached() -> [Bool] { all.map { cache.hit(key: $0, headers: [:]) != nil } }
        await fill()
        #expect(cached() == [true, true, true, true, true])

        GatewayResponder.invalidate(cache, after: RequestRoute(method: "GET", path: "/api/sync"), by: "u1")
        GatewayResponder.invalidate(cache, after: RequestRoute(method: "POST", path: "/api/realtime"), by: "u1")
        GatewayResponder.invalidate(cache, after: RequestRoute(method: "POST", path: "/api/collections/users/auth-with-password"), by: "u1")
        #expect(cached() == [true, true, true, true, true], "reads, subscriptions and sign-ins change nothing cached")

        GatewayResponder.invalidate(cache, after: RequestRoute(method: "POST", path: "/api/sync"), by: "u1")
        #expect(cached() == [false, false, false, true, true], "a sync push drops the user's quotes lists and views only")

        await fill()
        GatewayResponder.invalidate(cache, after: RequestRoute(method: "PATCH", path: Self.path + "/aaaaaaaaaaaaaaa"), by: "u1")
        #expect(cached() == [false, false, true, true, true])
        await fill()
        GatewayResponder.invalidate(cache, after: RequestRoute(method: "DELETE", path: "//api/collections/quotes/records/bbbbbbbbbbbbbbb/"), by: "u1")
        #expect(cached() == [false, true, false, true, true])
        await fill()
        GatewayResponder.invalidate(cache, after: RequestRoute(method: "POST", path: Self.path), by: "u1")
        #expect(cached() == [false, true, true, true, true])
        await fill()
        GatewayResponder.invalidate(cache, after: RequestRoute(method: "POST", path: "/api/sync"), by: nil)
        #expect(cached() == [true, true, true, true, true], "a guest's sync (refused by the node) drops no user's entries")
    }

    @Test("MISS then HIT with Age; a write by the user makes the next read a MISS with the new answer")
    func hitAndInvalidation() async throws {
        let fetches = Mutex(0)
        let fetch: @Sendable () async throws -> ProxiedResponse = {
            let count = fetches.withLock { $0 += 1; return $0 }
            return Self.answer("v\(count)")
        }
        let miss = await cache.respond(key: key, headers: Self.request(), fetch: fetch)
        #expect(miss.headers.first(name: "X-Cache-Status") == "MISS")
        #expect(try Self.body(miss) == "v1")
        let hit = await cache.respond(key: key, headers: Self.request(), fetch: fetch)
        #expect(hit.headers.first(name: "X-Cache-Status") == "HIT")
        #expect(hit.headers.first(name: "Age") == "0")
        #expect(try Self.body(hit) == "v1")
        cache.invalidate(user: "u2", collection: "quotes", recordID: nil)
        #expect(await cache.respond(key: key, headers: Self.request(), fetch: fetch).headers.first(name: "X-Cache-Status") == "HIT", "another user's write")
        cache.invalidate(user: "u1", collection: "quotes", recordID: "abc")
        let again = await cache.respond(key: key, headers: Self.request(), fetch: fetch)
        #expect(again.headers.first(name: "X-Cache-Status") == "MISS")
        #expect(try Self.body(again) == "v2")
        #expect(fetches.withLock { $0 } == 2)
    }

    @Test("the server's synchronous look (hit) answers fresh entries only, counts once, and leaves misses to respond")
    func synchronousHit() async throws {
        #expect(cache.hit(key: key, headers: [:]) == nil, "nothing stored yet")
        #expect(cache.statistics.misses == 0, "a look that found nothing counts nothing")
        _ = await cache.respond(key: key, headers: [:], fetch: { Self.answer("v1") })
        let hit = try #require(cache.hit(key: key, headers: [:]))
        #expect(hit.headers.first(name: "X-Cache-Status") == "HIT")
        #expect(try Self.body(hit) == "v1")
        #expect(cache.statistics.hits == 1)
        #expect(cache.statistics.misses == 1)
        #expect(cache.hit(key: key, headers: ["Cache-Control": "no-cache"]) == nil, "the client asked for no cache")
        #expect(cache.hit(key: key, headers: ["Pragma": "no-cache"]) == nil)
        cache.invalidate(user: "u1", collection: "quotes", recordID: nil)
        #expect(cache.hit(key: key, headers: [:]) == nil, "invalidated")
        let short = GatewayCache(byteBudget: 1 << 20, ttlNanos: 1, staleForNanos: 600_000_000_000)
        _ = await short.respond(key: key, headers: [:], fetch: { Self.answer("old") })
        #expect(short.hit(key: key, headers: [:]) == nil, "a stale entry is not a hit")
    }

    @Test("a hit is the prepared answer: the node's kept headers, X-Cache-Status, Content-Length and Age once each, the body counted once against the budget; hits share nothing a caller changes; each hit carries its own age")
    func preparedHits() async throws {
        let answer = ProxiedResponse(
            status: .ok, headers: ["Content-Type": "application/json", "ETag": "\"e1\"", "Set-Cookie": "a=b", "X-Node": "n1"],
            body: .buffer(ByteBuffer(string: "{\"id\":1}")), node: "n1"
        )
        _ = await cache.respond(key: key, headers: [:], fetch: { answer })
        var first = try #require(cache.hit(key: key, headers: [:]))
        #expect(first.headers.map(\.name) == ["Content-Type", "ETag", "X-Cache-Status", "Content-Length", "Age"])
        #expect(first.headers.first(name: "Age") == "0" && first.headers.first(name: "ETag") == "\"e1\"")
        #expect(first.headers.first(name: "Content-Length") == "8")
        #expect(try Self.body(first) == "{\"id\":1}")
        // The hit's head comes encoded; a header added (the limiter's) drops the encoding.
        #expect(first.encodedHead != nil)
        first.headers.add(name: "RateLimit", value: "x")
        #expect(first.encodedHead == nil)
        if case .buffer(var body) = first.body { body.writeString("tail") }
        let second = try #require(cache.hit(key: key, headers: [:]))
        #expect(second.headers.map(\.name) == ["Content-Type", "ETag", "X-Cache-Status", "Content-Length", "Age"])
        #expect(try Self.body(second) == "{\"id\":1}")
        // The headers of one age are built once and shared; another age gets its own Age.
        let now = GatewayCache.now()
        let later = try #require(cache.hit(key: key, headers: [:], now: now + 2_500_000_000))
        #expect(later.headers.first(name: "Age") == "2" && later.headers.count(where: { $0.name == "Age" }) == 1)
        let again = try #require(cache.hit(key: key, headers: [:], now: now))
        #expect(again.headers.first(name: "Age") == "0")
        #expect(again.headers.map(\.name) == ["Content-Type", "ETag", "X-Cache-Status", "Content-Length", "Age"])
        let kept = "Content-Type".utf8.count + "application/json".utf8.count + "ETag".utf8.count + "\"e1\"".utf8.count
        #expect(cache.statistics.bytes == key.byteCount + kept + "{\"id\":1}".utf8.count)
    }

    @Test("a prepared head's bytes are what NIO's response encoder writes for the same head (version 1.1, no framing added)")
    func encodedHeadMatchesNIO() throws {
        let cases: [(HTTPResponseStatus, HTTPHeaders)] = [
            (.ok, ["Content-Type": "application/json", "X-Cache-Status": "HIT", "Content-Length": "8", "Age": "0"]),
            (.notFound, ["Content-Length": "0"]),
            (HTTPResponseStatus(statusCode: 299, reasonPhrase: "Custom"), ["A": "b", "A": "c", "Set-Cookie": "x=1; Path=/"]),
            (.ok, [:]),
        ]
        for (status, headers) in cases {
            var configuration = HTTPResponseEncoder.Configuration()
            configuration.automaticallySetFramingHeaders = false
            let channel = EmbeddedChannel(handler: HTTPResponseEncoder(configuration: configuration))
            try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
            var written = ByteBuffer()
            while var part = try channel.readOutbound(as: IOData.self).map({ data -> ByteBuffer in
                guard case .byteBuffer(let buffer) = data else { return ByteBuffer() }
                return buffer
            }) { written.writeBuffer(&part) }
            #expect(String(buffer: EncodedHead(status: status, headers: headers).bytes) == String(buffer: written), "\(status)")
            _ = try channel.finish()
        }
    }

    @Test("Cache-Control: no-cache bypasses the cache")
    func bypass() async throws {
        let fetch: @Sendable () async throws -> ProxiedResponse = { Self.answer("fresh") }
        _ = await cache.respond(key: key, headers: Self.request(), fetch: fetch)
        let bypass = await cache.respond(key: key, headers: Self.request(headers: ["Cache-Control": "no-cache"]), fetch: { Self.answer("newer") })
        #expect(bypass.headers.first(name: "X-Cache-Status") == "BYPASS")
        #expect(try Self.body(bypass) == "newer")
    }

    @Test("concurrent misses on one key make one upstream request")
    func coalescing() async throws {
        let fetches = Mutex(0)
        let gate = FetchGate()
        let fetch: @Sendable () async throws -> ProxiedResponse = {
            fetches.withLock { $0 += 1 }
            await gate.wait()
            return Self.answer("shared")
        }
        let statuses = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<20 {
                group.addTask { await self.cache.respond(key: self.key, headers: Self.request(), fetch: fetch).headers.first(name: "X-Cache-Status") }
            }
            // Let every caller reach the coalescer before the one fetch answers.
            while fetches.withLock({ $0 }) == 0 { await Task.yield() }
            for _ in 0..<200 { await Task.yield() }
            try? await Task.sleep(for: .milliseconds(50))
            await gate.open()
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(fetches.withLock { $0 } == 1)
        #expect(statuses.allSatisfy { $0 == "MISS" })
        #expect(cache.statistics.entries == 1)
    }

    @Test("an entry past its freshness is served STALE only when no node answers")
    func staleWhenNodesDown() async throws {
        let short = GatewayCache(byteBudget: 1 << 20, ttlNanos: 1, staleForNanos: 600_000_000_000)
        _ = await short.respond(key: key, headers: Self.request(), fetch: { Self.answer("old") })
        let refreshed = await short.respond(key: key, headers: Self.request(), fetch: { Self.answer("new") })
        #expect(refreshed.headers.first(name: "X-Cache-Status") == "MISS")
        #expect(try Self.body(refreshed) == "new")
        let stale = await short.respond(key: key, headers: Self.request(), fetch: { throw GatewayProxy.Failure.noNodeAvailable })
        #expect(stale.headers.first(name: "X-Cache-Status") == "STALE")
        #expect(stale.headers.first(name: "Age") != nil)
        #expect(try Self.body(stale) == "new")
        let other = GatewayCache.key(user: "u1", path: Self.path, query: "page=9")
        let none = await short.respond(key: other, headers: Self.request(), fetch: { throw GatewayProxy.Failure.noNodeAvailable })
        #expect(none.status == .serviceUnavailable)
    }
}

/// Holds callers until opened.
private actor FetchGate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters.removeAll()
    }
}
