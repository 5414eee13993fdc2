import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Issue 18, replayed with real processes: every attack found against two nodes behind the
/// gateway gets its answer, while another client keeps being served and every process keeps its
/// memory. (The gossip-port attacks are in `GossipPortTests`.)
@Suite("Hostile clients against two nodes behind the gateway", .serialized, .timeLimit(.minutes(4)))
struct HostileClientsTests {
    static func session() -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        return URLSession(configuration: configuration)
    }

    /// Signs `email` up and logs in on a node directly (sign-ins through the gateway are limited
    /// to PocketBase's 2 per 3 s per address, and every test client shares 127.0.0.1).
    func user(_ email: String, on node: NodeProcess) async throws -> (id: String, token: String) {
        let http = HTTPJSON(base: node.baseURL)
        let created = try await http.send("POST", "/api/collections/users/records", json: ["email": email, "password": "12345678", "passwordConfirm": "12345678"])
        let auth = try await http.send("POST", "/api/collections/users/auth-with-password", json: ["identity": email, "password": "12345678"])
        return (try #require(created.json["id"] as? String), try #require(auth.json["token"] as? String))
    }

    /// Another client's read through the gateway and every node's health, each answered within
    /// a few seconds (a liveness bound, not a performance figure): the attack hurt nobody else.
    func othersAreServed(_ gateway: GatewayProcess, _ cluster: LocalCluster, token: String, _ context: String) async throws {
        let session = Self.session()
        let started = Date()
        let read = try await HTTPExchange.send(session, "GET", gateway.baseURL + "/api/collections/quotes/records?perPage=5", token: token, headers: ["Cache-Control": "no-cache"])
        #expect(read.status == 200, "\(context): the victim's read answered \(read.status)")
        #expect(Date().timeIntervalSince(started) < 5, "\(context): the victim's read took \(Date().timeIntervalSince(started)) s")
        for name in ["n1", "n2"] {
            let node = cluster.node(name)
            #expect(node.process.isRunning, "\(context): \(name) died")
            let health = try await HTTPExchange.send(session, "GET", node.baseURL + "/api/health")
            #expect(health.status == 200, "\(context): \(name) health \(health.status)")
        }
    }

    @Test("every attack of issue 18 gets a 4xx or a closed connection; the nodes, the gateway and other clients carry on; memory stays bounded")
    func attacks() async throws {
        let cluster = try LocalCluster(label: "hostile")
        defer { cluster.stopAll() }
        try cluster.start(["n1", "n2"])
        #expect(try await cluster.waitUntilJoined())
        let gateway = GatewayProcess(join: cluster.seedPorts(), extraArguments: ["--head-timeout", "2", "--no-rate-limit"])
        try gateway.start()
        defer { gateway.kill(signal: SIGKILL) }
        #expect(try await gateway.waitUntilRouting(["n1", "n2"]), "\(gateway.logText)")
        let session = Self.session()
        let n1 = cluster.node("n1")
        let victim = try await user("victim@example.com", on: n1)
        let attacker = try await user("attacker@example.com", on: n1)
        let quotes = gateway.baseURL + "/api/collections/quotes/records"
        #expect(try await HTTPExchange.send(session, "POST", quotes, token: victim.token, json: ["content": "mine"]).status == 200)
        let startRSS = ["n1": residentBytes(n1.process.processIdentifier), "n2": residentBytes(cluster.node("n2").process.processIdentifier),
                        "gateway": residentBytes(gateway.process.processIdentifier)]

        // 1. A sync cursor whose counter is 2^64-1 trapped every node it reached.
        let cursor = "v1.eyJzIjp7ImVudHJpZXMiOnsienoiOnsiYyI6MTg0NDY3NDQwNzM3MDk1NTE2MTUsIngiOlsxXX19fX0"
        let synced = try await HTTPExchange.send(session, "GET", gateway.baseURL + "/api/sync?since=\(cursor)", token: attacker.token)
        #expect(synced.status == 400 && synced.json["status"] as? Int == 400, "cursor: \(synced.status)")
        try await othersAreServed(gateway, cluster, token: victim.token, "after the overflowing cursor")

        // 2. Four 20,000-tag creates at once froze the nodes for seconds each.
        let tags = (0..<20_000).map { "t\($0)" }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask { try await HTTPExchange.send(Self.session(), "POST", quotes, token: attacker.token, json: ["content": "x", "tags": tags]).status }
            }
            try await othersAreServed(gateway, cluster, token: victim.token, "during 20,000-tag creates")
            for try await status in group { #expect(status == 400, "20,000 tags: \(status)") }
        }

        // 3. A realtime client subscribed 1,000 times to its own 30 KB quote that never reads.
        let stream = try RawSocket(port: n1.port)
        try stream.send("GET /api/realtime HTTP/1.1\r\nHost: n1\r\nAccept: text/event-stream\r\n\r\n")
        let hello = stream.receive(timeout: 10) { $0.contains("PB_CONNECT") && $0.contains("}\n") }.text
        let clientID = try #require(hello.range(of: #""clientId":"[^"]+""#, options: .regularExpression).map { String(hello[$0].dropFirst(12).dropLast()) })
        let subscribed = try await HTTPExchange.send(session, "POST", n1.baseURL + "/api/realtime", token: attacker.token,
                                                     json: ["clientId": clientID, "subscriptions": (0..<1000).map { "quotes?options=\($0)" }])
        #expect(subscribed.status == 204)
        let big = try await HTTPExchange.send(session, "POST", n1.baseURL + "/api/collections/quotes/records", token: attacker.token,
                                              json: ["content": String(repeating: "z", count: 4999), "notes": String(repeating: "n", count: 4999),
                                                     "author": String(repeating: "a", count: 4999), "source": String(repeating: "s", count: 4999)])
        let bigID = try #require(big.json["id"] as? String)
        for edit in 0..<30 {
            let patched = try await HTTPExchange.send(session, "PATCH", n1.baseURL + "/api/collections/quotes/records/\(bigID)", token: attacker.token,
                                                      json: ["content": String(repeating: "\(edit % 10)", count: 4999)])
            #expect(patched.status == 200)
        }
        let metrics = String(decoding: try await HTTPExchange.send(session, "GET", n1.baseURL + "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("stoa_realtime_clients_dropped_total"), "the greedy client was disconnected and counted")
        #expect(residentBytes(n1.process.processIdentifier) < (startRSS["n1"] ?? 0) + 150 << 20, "n1 grew from \(startRSS["n1"] ?? 0) to \(residentBytes(n1.process.processIdentifier)) bytes")
        try await othersAreServed(gateway, cluster, token: victim.token, "after the realtime flood")

        // 5. A request head sent halfway stays open no longer than the head timeout (2 s here).
        let slow = try RawSocket(port: gateway.port)
        try slow.send("GET /api/health HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")
        #expect(slow.receive(timeout: 8).closed, "the half-sent head was cut off")

        // 6. One user's device edit stamped 59 s ahead moved every node's clock for everyone.
        let listed = try await HTTPExchange.send(session, "GET", quotes, token: victim.token)
        let victimQuote = try #require((listed.json["items"] as? [[String: Any]])?.first?["id"] as? String)
        _ = victimQuote
        let ahead: [String: Any] = ["device": "phone", "changes": [[
            "id": bigID, "op": "upsert", "time": Int(Date().timeIntervalSince1970 * 1000) + 59_000, "fields": ["notes": "from the future"],
        ]]]
        #expect(try await HTTPExchange.send(session, "POST", gateway.baseURL + "/api/sync", token: attacker.token, json: ahead).status == 200)
        let after = try await HTTPExchange.send(session, "POST", quotes, token: victim.token, json: ["content": "written after"])
        let created = try #require(after.json["created"] as? String)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS'Z'"
        let stamp = try #require(formatter.date(from: created))
        #expect(stamp.timeIntervalSinceNow < 5, "the victim's write is stamped \(stamp.timeIntervalSinceNow) s ahead")

        // 7. Internal endpoints are not served through the gateway.
        for path in ["/api/cluster", "/api/cluster?digest=1", "/api/gateway", "/metrics"] {
            #expect(try await HTTPExchange.send(session, "GET", gateway.baseURL + path).status == 404, "\(path)")
        }

        // 8. Repeated query parameters are answered (and cached) as the node reads them: the first.
        let first = try await HTTPExchange.send(session, "GET", quotes + "?filter=content='mine'&filter=content='nothing'", token: victim.token)
        let swapped = try await HTTPExchange.send(session, "GET", quotes + "?filter=content='nothing'&filter=content='mine'", token: victim.token)
        #expect(first.json["totalItems"] as? Int == 1 && swapped.json["totalItems"] as? Int == 0)

        // 9. A 30 MiB subscription body is refused at once, before it is read.
        let huge = try RawSocket(port: gateway.port)
        try huge.send("POST /api/realtime HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: \(30 << 20)\r\n\r\n{\"clientId\":\"")
        #expect(huge.receive(timeout: 5) { $0.contains("\r\n\r\n") }.text.hasPrefix("HTTP/1.1 413"))
        try await othersAreServed(gateway, cluster, token: victim.token, "after the huge subscription body")

        // 10. Passwords bcrypt would cut (a NUL, past 72 bytes) never log in; a bad chunked body is a 400.
        for password in ["12345678\u{0}junk", "12345678" + String(repeating: "x", count: 70)] {
            let login = try await HTTPExchange.send(session, "POST", n1.baseURL + "/api/collections/users/auth-with-password",
                                                    json: ["identity": "victim@example.com", "password": password])
            #expect(login.status == 400 && login.json["message"] as? String == "Failed to authenticate.")
        }
        let chunked = try RawSocket(port: gateway.port)
        try chunked.send("POST /api/collections/quotes/records HTTP/1.1\r\nHost: gateway\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n")
        #expect(chunked.receive(timeout: 5) { $0.contains("\r\n\r\n") }.text.hasPrefix("HTTP/1.1 400"))

        // Everyone still alive and served, memory bounded.
        try await othersAreServed(gateway, cluster, token: victim.token, "at the end")
        #expect(gateway.process.isRunning)
        for (name, pid) in [("n1", n1.process.processIdentifier), ("n2", cluster.node("n2").process.processIdentifier), ("gateway", gateway.process.processIdentifier)] {
            let grown = residentBytes(pid) - (startRSS[name] ?? 0)
            #expect(grown < 200 << 20, "\(name) grew by \(grown >> 20) MiB")
        }
    }
}
