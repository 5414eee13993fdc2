import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Issue 17: cache invalidation crosses gateways. Two gateway processes with their caches on, in
/// front of two nodes; a user writes through one and reads through the other.
@Suite("Caches of several gateways", .serialized, .timeLimit(.minutes(3)))
struct SharedCacheTests {
    /// Entries stay fresh for a minute: what makes a read fresh here is the invalidation, not the TTL.
    static let arguments = ["--rate-limit", "user:user:all:1000:1000", "--cache-ttl-ms", "60000"]

    /// Nodes `nodes`, a user's token, and gateways g1 and g2, each routing to every node.
    static func start(_ cluster: LocalCluster, nodes: [String] = ["n1", "n2"]) async throws -> (token: String, g1: GatewayProcess, g2: GatewayProcess) {
        try cluster.start(nodes)
        let api = cluster.http("n1")
        #expect(try await api.send("POST", "/api/collections/users/records", json: ["email": "cache@example.com", "password": "12345678", "passwordConfirm": "12345678"]).status == 200)
        let token = try #require(try await api.send("POST", "/api/collections/users/auth-with-password", json: ["identity": "cache@example.com", "password": "12345678"]).json["token"] as? String)
        let g1 = GatewayProcess(join: cluster.seedPorts(), extraArguments: ["--name", "g1"] + arguments)
        let g2 = GatewayProcess(join: cluster.seedPorts(), extraArguments: ["--name", "g2"] + arguments)
        try g1.start()
        try g2.start()
        for gateway in [g1, g2] { #expect(try await gateway.waitUntilRouting(nodes), "\(gateway.logText)") }
        return (token, g1, g2)
    }

    static func content(_ exchange: HTTPExchange) -> String? { exchange.json["content"] as? String }

    static func contents(_ exchange: HTTPExchange) -> [String] {
        (exchange.json["items"] as? [[String: Any]] ?? []).compactMap { $0["content"] as? String }
    }

    @Test("a write through one gateway is never read back stale through the other (its views and lists, over two nodes)")
    func invalidation() async throws {
        let cluster = try LocalCluster(label: "shared-cache")
        defer { cluster.stopAll() }
        let (token, g1, g2) = try await Self.start(cluster)
        defer { for gateway in [g1, g2] { gateway.kill(signal: SIGKILL) } }
        let session = URLSession(configuration: .ephemeral)
        let created = try await HTTPExchange.send(session, "POST", g1.baseURL + "/api/collections/quotes/records", token: token, json: ["content": "first"])
        #expect(created.status == 200)
        let id = try #require(created.json["id"] as? String)
        let view = "/api/collections/quotes/records/\(id)"
        let list = "/api/collections/quotes/records?perPage=50"
        // g2 serves hits once it hears g1 (and has the quote: its node may get it by replication).
        #expect(try await eventually {
            let first = try await HTTPExchange.send(session, "GET", g2.baseURL + view, token: token)
            let second = try await HTTPExchange.send(session, "GET", g2.baseURL + view, token: token)
            return first.status == 200 && second.headers["x-cache-status"] == "HIT"
        })
        var hits = 0
        var stale: [String] = []
        for round in 0..<30 {
            // g2 has the view and the list cached (a hit from the round before, or a fill now).
            let before = try await HTTPExchange.send(session, "GET", g2.baseURL + view, token: token)
            if before.headers["x-cache-status"] == "HIT" { hits += 1 }
            _ = try await HTTPExchange.send(session, "GET", g2.baseURL + list, token: token)
            _ = try await HTTPExchange.send(session, "GET", g2.baseURL + list, token: token)
            let edit = "edit \(round)"
            let written = try await HTTPExchange.send(session, "PATCH", g1.baseURL + view, token: token, json: ["content": edit])
            #expect(written.status == 200)
            let after = try await HTTPExchange.send(session, "GET", g2.baseURL + view, token: token)
            let listed = try await HTTPExchange.send(session, "GET", g2.baseURL + list, token: token)
            if Self.content(after) != edit { stale.append("view: \(Self.content(after) ?? "-") (\(after.headers["x-cache-status"] ?? "")) for \(edit)") }
            if !Self.contents(listed).contains(edit) { stale.append("list: \(Self.contents(listed)) (\(listed.headers["x-cache-status"] ?? "")) for \(edit)") }
        }
        #expect(stale.isEmpty, "\(stale)")
        #expect(hits >= 20, "g2's cache served the reads between writes: \(hits) hits of 30")
        let metrics = try await HTTPExchange.send(session, "GET", g2.adminURL + "/metrics")
        #expect(String(decoding: metrics.body, as: UTF8.self).contains("stoa_gateway_cache_flushes_total"))
    }

    @Test("a gateway that could not hear the other does not serve what it cached before: once it hears again it starts from an empty cache")
    func fallback() async throws {
        let cluster = try LocalCluster(label: "shared-cache-fallback")
        defer { cluster.stopAll() }
        // One node: what is read is what the cache holds or the node's latest.
        let (token, g1, g2) = try await Self.start(cluster, nodes: ["n1"])
        defer { for gateway in [g1, g2] { gateway.kill(signal: SIGKILL) } }
        defer { kill(g2.process.processIdentifier, SIGCONT) }
        let session = URLSession(configuration: .ephemeral)
        let created = try await HTTPExchange.send(session, "POST", g1.baseURL + "/api/collections/quotes/records", token: token, json: ["content": "before"])
        let id = try #require(created.json["id"] as? String)
        let view = "/api/collections/quotes/records/\(id)"
        #expect(try await eventually {
            let first = try await HTTPExchange.send(session, "GET", g2.baseURL + view, token: token)
            let second = try await HTTPExchange.send(session, "GET", g2.baseURL + view, token: token)
            return Self.content(first) == "before" && second.headers["x-cache-status"] == "HIT"
        }, "g2 serves the view from its cache")
        // g2 stops (frozen: it hears nothing, says nothing) with the old view cached; writes go on
        // through g1 (at first each waits for g2, at most 0.75 s; then g2 is silent).
        kill(g2.process.processIdentifier, SIGSTOP)
        let clock = ContinuousClock()
        var waits: [Duration] = []
        for round in 0..<3 {
            let started = clock.now
            let written = try await HTTPExchange.send(session, "PATCH", g1.baseURL + view, token: token, json: ["content": "while apart \(round)"])
            waits.append(clock.now - started)
            #expect(written.status == 200, "writes go on through g1")
        }
        print("shared cache fallback: writes through g1 with g2 stopped took \(waits)")
        try await Task.sleep(for: .seconds(1))
        // g2 resumes: its reads are fresh, never the view it cached before it stopped.
        kill(g2.process.processIdentifier, SIGCONT)
        var seen: [String] = []
        for _ in 0..<5 {
            let read = try await HTTPExchange.send(session, "GET", g2.baseURL + view, token: token)
            seen.append("\(Self.content(read) ?? "-") (\(read.headers["x-cache-status"] ?? ""))")
        }
        #expect(seen.allSatisfy { $0.hasPrefix("while apart 2 ") }, "\(seen)")
        // And it serves from its cache again once it hears g1.
        #expect(try await eventually {
            _ = try await HTTPExchange.send(session, "GET", g2.baseURL + view, token: token)
            return try await HTTPExchange.send(session, "GET", g2.baseURL + view, token: token).headers["x-cache-status"] == "HIT"
        })
    }
}
