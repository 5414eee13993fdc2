import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("The gateway in front of real nodes", .serialized, .timeLimit(.minutes(4)))
struct GatewayTests {
    static func session() -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        return URLSession(configuration: configuration)
    }

    /// Signs a user up and in through `base`; returns the token.
    static func user(_ email: String, via base: String) async throws -> String {
        let http = HTTPJSON(base: base)
        let signUp = try await http.send("POST", "/api/collections/users/records", json: ["email": email, "password": "12345678", "passwordConfirm": "12345678"])
        try #require(signUp.status == 200, "sign-up: \(signUp.status) \(signUp.json)")
        // The gateway sends a guest's requests from one address to the node of its last write
        // for a moment; should that node have left rotation, the user replicates within ms.
        var token: String?
        _ = try await eventually(timeout: .seconds(5)) {
            let auth = try await http.send("POST", "/api/collections/users/auth-with-password", json: ["identity": email, "password": "12345678"])
            token = auth.json["token"] as? String
            return token != nil
        }
        return try #require(token)
    }

    @Test("a node SIGKILLed under GET load through the gateway: no client error; back in rotation after restart")
    func nodeKilledUnderLoad() async throws {
        let cluster = try LocalCluster(label: "gw-failover")
        defer { cluster.stopAll() }
        try cluster.start(["n1", "n2", "n3"])
        #expect(try await cluster.waitUntilJoined())
        let gateway = GatewayProcess(join: cluster.seedPorts(), extraArguments: ["--no-rate-limit", "--cache-bytes", "0"])
        try gateway.start()
        defer { gateway.kill(signal: SIGKILL) }
        #expect(try await gateway.waitUntilRouting(["n1", "n2", "n3"]), "\(gateway.logText)")
        // The nodes see a gateway, which they keep out of replication; started on HTTP port 0, it
        // announces the port it got.
        #expect(try await eventually { cluster.node("n1").logText.contains("gateway gateway at 127.0.0.1:") })
        let members = try await HTTPJSON(base: cluster.node("n1").baseURL).send("GET", "/api/cluster").json["members"] as? [[String: Any]] ?? []
        #expect(members.first { $0["name"] as? String == "gateway" }?["http"] as? String == "gateway;" + gateway.baseURL, "\(members)")

        let token = try await Self.user("load@example.com", via: gateway.baseURL)
        let http = HTTPJSON(base: gateway.baseURL)
        var ids: [String] = []
        for index in 0..<10 {
            let created = try await http.send("POST", "/api/collections/quotes/records", token: token, json: ["content": "q\(index)"])
            try #require(created.status == 200)
            ids.append(try #require(created.json["id"] as? String))
        }
        #expect(try await cluster.waitUntilConverged(["n1", "n2", "n3"]) != nil)
        // Past the writer-affinity window (2 s), the reads spread over all three nodes again.
        try await Task.sleep(for: .milliseconds(2500))

        // Eight GET clients (list and view); n2 is killed while they run. They stop by flag, not by
        // cancellation (cancelling an in-flight URLSession request deadlocks corelibs Foundation).
        let load = LoadCounter()
        let quoteIDs = ids
        let readers = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<8 {
                    group.addTask {
                        let session = Self.session()
                        var index = client
                        while !load.stopped {
                            index += 1
                            let path = index % 2 == 0 ? "/api/collections/quotes/records?perPage=5" : "/api/collections/quotes/records/\(quoteIDs[index % quoteIDs.count])"
                            do {
                                let reply = try await HTTPExchange.send(session, "GET", gateway.baseURL + path, token: token)
                                if reply.status == 200 { load.ok() } else { load.fail("\(path): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))") }
                            } catch {
                                load.fail("\(path): \(error)")
                            }
                        }
                    }
                }
            }
        }
        let before = ContinuousClock.now + .seconds(60)
        while load.count < 400, ContinuousClock.now < before { try await Task.sleep(for: .milliseconds(10)) }
        cluster.node("n2").kill(signal: SIGKILL)
        let atKill = load.count
        let after = ContinuousClock.now + .seconds(60)
        while load.count < atKill + 800, ContinuousClock.now < after { try await Task.sleep(for: .milliseconds(10)) }
        load.stop()
        await readers.value
        #expect(load.count >= atKill + 800, "load stalled after the kill")
        #expect(load.errors.isEmpty, "client errors: \(load.errors.prefix(5))")

        let nodes = try await gateway.nodes()
        #expect(nodes["n2"]?["state"] as? String != "alive")
        #expect(nodes["n2"]?["errors"] as? Int ?? 0 >= 1, "requests reached the killed node and were retried elsewhere")
        #expect((nodes["n1"]?["requests"] as? Int ?? 0) > 0 && (nodes["n3"]?["requests"] as? Int ?? 0) > 0)

        // Restarted at the same gossip address but on another HTTP port (whether or not the
        // cluster declared it dead by then), n2 is re-admitted at its new URL once membership and
        // its health check agree.
        let restarted = try cluster.startNode("n2", join: cluster.seedPorts())
        let readmitted = try await gateway.waitUntilRouting(["n1", "n2", "n3"], timeout: .seconds(30))
        let view = (try? await gateway.nodes()).map { "\($0)" } ?? "?"
        #expect(readmitted, "\(view)\n\(gateway.logText.suffix(3000))")
        #expect(try await gateway.nodes()["n2"]?["url"] as? String == restarted.baseURL, "\(view)")
    }

    @Test("rate-limit headers on every answer, 429 with Retry-After; cache MISS/HIT/BYPASS/STALE, Age, own writes never stale")
    func limitsAndCache() async throws {
        let cluster = try LocalCluster(label: "gw-limits")
        defer { cluster.stopAll() }
        try cluster.start(["n1"])
        let gateway = GatewayProcess(join: cluster.seedPorts(), extraArguments: [
            "--rate-limit", "user-writes:user:writes:0.001:3", "--rate-limit", "ip-all:ip:all:1000:1000", "--cache-ttl-ms", "1500",
        ])
        try gateway.start()
        defer { gateway.kill(signal: SIGKILL) }
        #expect(try await gateway.waitUntilRouting(["n1"]), "\(gateway.logText)")
        let token = try await Self.user("cache@example.com", via: gateway.baseURL)
        let session = Self.session()
        let list = gateway.baseURL + "/api/collections/quotes/records?perPage=50&sort=-created"
        func get(_ url: String, headers: [String: String] = [:]) async throws -> HTTPExchange {
            try await HTTPExchange.send(session, "GET", url, token: token, headers: headers)
        }
        func create(_ content: String) async throws -> HTTPExchange {
            try await HTTPExchange.send(session, "POST", gateway.baseURL + "/api/collections/quotes/records", token: token, json: ["content": content])
        }

        let first = try await get(list)
        #expect(first.status == 200)
        #expect(first.headers["x-cache-status"] == "MISS")
        #expect(first.headers["ratelimit-policy"]?.contains("ip-all") == true)
        #expect(first.headers["ratelimit"] != nil)
        let second = try await get(list)
        #expect(second.headers["x-cache-status"] == "HIT")
        #expect(second.headers["age"].flatMap(Int.init) != nil)
        #expect(second.body == first.body)

        // A write through the gateway drops the writer's lists before it answers.
        let created = try await create("one")
        #expect(created.status == 200)
        #expect(created.headers["ratelimit-policy"]?.contains("user-writes") == true)
        let afterWrite = try await get(list)
        #expect(afterWrite.headers["x-cache-status"] == "MISS")
        #expect(afterWrite.json["totalItems"] as? Int == 1)
        let bypass = try await get(list, headers: ["Cache-Control": "no-cache"])
        #expect(bypass.headers["x-cache-status"] == "BYPASS")
        #expect(bypass.status == 200)

        // The user's write policy admits a burst of 3, then rejects at once.
        #expect(try await create("two").status == 200)
        #expect(try await create("three").status == 200)
        let rejected = try await create("four")
        #expect(rejected.status == 429)
        #expect(rejected.headers["retry-after"].flatMap(Int.init).map { $0 >= 1 } == true)
        #expect(rejected.headers["ratelimit"]?.contains("user-writes") == true)
        #expect(rejected.json["status"] as? Int == 429)
        #expect(rejected.json["message"] as? String == "Too Many Requests.")
        #expect((rejected.json["data"] as? [String: Any])?.isEmpty == true)
        let listed = try await get(list)
        #expect(listed.json["totalItems"] as? Int == 3, "the rejected write must change nothing")

        // Once the only node is gone, the cached list is served stale (after its freshness).
        let cached = try await get(list)
        #expect(cached.headers["x-cache-status"] == "HIT")
        cluster.node("n1").kill(signal: SIGKILL)
        try await Task.sleep(for: .milliseconds(1600))
        let stale = try await get(list)
        #expect(stale.status == 200)
        #expect(stale.headers["x-cache-status"] == "STALE")
        #expect(stale.body == listed.body)
        let uncached = try await get(gateway.baseURL + "/api/collections/quotes/records?perPage=7")
        #expect(uncached.status == 503 || uncached.status == 502)
        #expect(uncached.json["status"] as? Int == uncached.status)

        // The gateway's own pages are on its admin listener.
        let status = try await HTTPJSON(base: gateway.adminURL).send("GET", "/api/gateway").json
        let limits = try #require(status["rateLimit"] as? [String: Any])
        let policies = limits["policies"] as? [[String: Any]] ?? []
        #expect(policies.first { $0["name"] as? String == "user-writes" }?["rejected"] as? Int == 1)
        #expect((status["cache"] as? [String: Any])?["hits"] as? Int ?? 0 >= 2)
        let metrics = try await HTTPExchange.send(session, "GET", gateway.adminURL + "/metrics")
        #expect(String(decoding: metrics.body, as: UTF8.self).contains("stoa_gateway_ratelimit_rejected_total"))
        let page = try await HTTPExchange.send(session, "GET", gateway.adminURL + "/_/")
        #expect(page.status == 200 && String(decoding: page.body, as: UTF8.self).contains("/api/gateway"))
    }

    @Test("the public port serves the public API only; the admin listener the gateway's pages and bounds; POST /api/sync drops the user's cached reads; sign-ins get PocketBase's *:auth limit")
    func publicPortSyncAndAuth() async throws {
        let cluster = try LocalCluster(label: "gw-public")
        defer { cluster.stopAll() }
        try cluster.start(["n1"])
        // Default policies (ip, user and PocketBase's auth rule), a long cache TTL.
        let gateway = GatewayProcess(join: cluster.seedPorts(), extraArguments: ["--cache-ttl-ms", "600000"])
        try gateway.start()
        defer { gateway.kill(signal: SIGKILL) }
        #expect(try await gateway.waitUntilRouting(["n1"]), "\(gateway.logText)")
        let session = Self.session()

        // Internal endpoints: 404 in PocketBase's envelope on the public port, nothing proxied.
        for path in ["/api/cluster", "/api/cluster?digest=1", "//api/cluster/", "/api/gateway", "/metrics"] {
            let reply = try await HTTPExchange.send(session, "GET", gateway.baseURL + path)
            #expect(reply.status == 404 && reply.json["status"] as? Int == 404, "\(path): \(reply.status)")
            #expect(reply.json["message"] as? String == "The requested resource wasn't found.")
        }
        // The admin dashboard (issue 15) is the nodes' page, forwarded: it holds no data.
        let dashboard = try await HTTPExchange.send(session, "GET", gateway.baseURL + "/_/")
        #expect(dashboard.status == 200 && String(decoding: dashboard.body, as: UTF8.self).contains("/_/app.js"))
        let admin = try await HTTPExchange.send(session, "GET", gateway.adminURL + "/metrics")
        let text = String(decoding: admin.body, as: UTF8.self)
        for name in ["stoa_gateway_max_connections", "stoa_gateway_idle_timeout_seconds", "stoa_gateway_head_timeout_seconds",
                     "stoa_gateway_max_body_bytes", "stoa_gateway_max_realtime_body_bytes", "stoa_gateway_client_connections"] {
            #expect(text.contains(name), "\(name) in /metrics")
        }
        #expect(try await HTTPExchange.send(session, "GET", gateway.adminURL + "/api/health").status == 404, "the admin listener proxies nothing")

        // Read-your-writes across /api/sync: cached list and view, a device edit, fresh answers.
        let token = try await Self.user("sync@example.com", via: gateway.baseURL)
        let created = try await HTTPExchange.send(session, "POST", gateway.baseURL + "/api/collections/quotes/records", token: token, json: ["content": "before"])
        let id = try #require(created.json["id"] as? String)
        let list = gateway.baseURL + "/api/collections/quotes/records?perPage=10"
        let view = gateway.baseURL + "/api/collections/quotes/records/\(id)"
        for url in [list, view] {
            _ = try await HTTPExchange.send(session, "GET", url, token: token)
            #expect(try await HTTPExchange.send(session, "GET", url, token: token).headers["x-cache-status"] == "HIT")
        }
        let edit: [String: Any] = ["device": "phone-1", "changes": [[
            "id": id, "op": "upsert", "time": Int(Date().timeIntervalSince1970 * 1000), "fields": ["content": "after"],
        ]]]
        let pushed = try await HTTPExchange.send(session, "POST", gateway.baseURL + "/api/sync", token: token, json: edit)
        #expect(pushed.status == 200, "\(pushed.json)")
        let listed = try await HTTPExchange.send(session, "GET", list, token: token)
        #expect(listed.headers["x-cache-status"] == "MISS")
        #expect((listed.json["items"] as? [[String: Any]])?.first?["content"] as? String == "after")
        let viewed = try await HTTPExchange.send(session, "GET", view, token: token)
        #expect(viewed.headers["x-cache-status"] == "MISS")
        #expect(viewed.json["content"] as? String == "after")

        // Sign-ins from one address: PocketBase's *:auth rule (2 per 3 s) on top of the others.
        var statuses: [Int] = []
        var rejected: HTTPExchange?
        for _ in 0..<6 where rejected == nil {
            let reply = try await HTTPExchange.send(session, "POST", gateway.baseURL + "/api/collections/users/auth-with-password",
                                                    json: ["identity": "sync@example.com", "password": "12345678"])
            statuses.append(reply.status)
            if reply.status == 429 { rejected = reply }
        }
        #expect(statuses.contains(429), "\(statuses)")
        #expect(rejected?.headers["ratelimit"]?.contains("\"auth\"") == true)
        #expect(rejected?.headers["retry-after"].flatMap(Int.init).map { $0 >= 1 } == true)
        #expect(rejected?.json["message"] as? String == "Too Many Requests.")
        #expect(try await HTTPExchange.send(session, "GET", list, token: token).status == 200, "reads are not held by the auth limit")
    }
}

/// Counts successes and errors of a load shared by client tasks.
final class LoadCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var successes = 0
    private var failures: [String] = []
    private var isStopped = false

    func ok() { lock.withLock { successes += 1 } }
    func fail(_ message: String) { lock.withLock { failures.append(message) } }
    func stop() { lock.withLock { isStopped = true } }
    var count: Int { lock.withLock { successes } }
    var errors: [String] { lock.withLock { failures } }
    var stopped: Bool { lock.withLock { isStopped } }
}
