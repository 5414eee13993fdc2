import Testing
@testable import StoaGateway

@Suite("NodePool: routing only to live nodes, passive ejection, health re-admission")
struct NodePoolTests {
    static func admitted(_ names: [String]) -> NodePool {
        let pool = NodePool()
        for name in names {
            pool.update(name: name, url: "http://\(name)", membership: .alive)
            pool.healthChecked(name: name, url: "http://\(name)", healthy: true, now: 0)
        }
        return pool
    }

    @Test("a node membership reports is not routed to until its health check passes")
    func newNodesWaitForHealth() {
        let pool = NodePool()
        pool.update(name: "n1", url: "http://n1", membership: .alive)
        #expect(pool.acquire(now: 0) == nil)
        #expect(pool.readmissionCandidates().map(\.name) == ["n1"])
        pool.healthChecked(name: "n1", url: "http://n1", healthy: false, now: 1)
        #expect(pool.acquire(now: 1) == nil)
        pool.healthChecked(name: "n1", url: "http://n1", healthy: true, now: 2)
        #expect(pool.acquire(now: 2)?.name == "n1")
    }

    @Test("a connection failure ejects at once; re-admission needs membership not dead and a passing check")
    func ejectionAndReadmission() throws {
        let pool = Self.admitted(["n1", "n2"])
        let lease = try #require(pool.acquire(excluding: ["n2"], now: 0))
        #expect(lease.name == "n1")
        pool.release(lease, outcome: .connectionFailed, now: 1)
        for _ in 0..<20 { #expect(pool.acquire(now: 2).map { pool.release($0, outcome: .answered, now: 3); return $0.name } == "n2") }
        pool.update(name: "n1", url: "http://n1", membership: .dead)
        pool.healthChecked(name: "n1", url: "http://n1", healthy: true, now: 4)
        #expect(pool.acquire(excluding: ["n2"], now: 5) == nil, "membership says dead: a passing check alone does not re-admit")
        #expect(pool.readmissionCandidates().isEmpty)
        pool.update(name: "n1", url: "http://n1", membership: .alive)
        #expect(pool.acquire(excluding: ["n2"], now: 6) == nil, "alive again, but not yet checked")
        pool.healthChecked(name: "n1", url: "http://n1", healthy: true, now: 7)
        #expect(pool.acquire(excluding: ["n2"], now: 8)?.name == "n1")
    }

    @Test("the status row shows membership state and its age, passive failures, and the last active check only when one was made")
    func statusSnapshot() throws {
        let second: UInt64 = 1_000_000_000
        let pool = NodePool()
        pool.update(name: "n1", url: "http://n1", membership: .alive, now: 10 * second)
        pool.healthChecked(name: "n1", url: "http://n1", healthy: true, now: 11 * second)
        pool.update(name: "n1", url: "http://n1", membership: .alive, now: 40 * second)  // unchanged: age kept
        var row = try #require(pool.snapshot(now: 76 * second).first)
        #expect(row.state == "alive" && row.membershipSecondsAgo == 66)
        #expect(row.lastActiveCheckSecondsAgo == 65 && row.lastActiveCheckPassed == true)
        #expect(row.passiveFailures == 0 && row.lastPassiveFailureSecondsAgo == nil)

        let lease = try #require(pool.acquire(now: 80 * second))
        pool.release(lease, outcome: .connectionFailed, now: 81 * second)
        pool.update(name: "n1", url: "http://n1", membership: .suspect, now: 82 * second)
        pool.healthChecked(name: "n1", url: "http://n1", healthy: false, now: 83 * second)
        row = try #require(pool.snapshot(now: 84 * second).first)
        #expect(row.state == "suspect" && row.ejected && row.membership == "suspect" && row.membershipSecondsAgo == 2)
        #expect(row.passiveFailures == 1 && row.lastPassiveFailureSecondsAgo == 3)
        #expect(row.lastActiveCheckSecondsAgo == 1 && row.lastActiveCheckPassed == false)

        // A node never ejected was never actively checked: no check is shown, not a stale age.
        let fresh = Self.admitted(["n2"])
        let other = NodePool()
        other.update(name: "n3", url: "http://n3", membership: .alive, now: 5 * second)
        #expect(try #require(other.snapshot(now: 6 * second).first).lastActiveCheckSecondsAgo == nil)
        #expect(try #require(fresh.snapshot(now: 0).first).membershipSecondsAgo == nil, "no time given, none shown")
        #expect(GatewayDashboardPage.html.contains("passive failures") && !GatewayDashboardPage.html.contains("last check (s ago)"))
    }

    @Test("a check of a node's old URL does not re-admit its new address")
    func staleCheckIgnored() {
        let pool = Self.admitted(["n1"])
        pool.update(name: "n1", url: "http://n1-new", membership: .alive)
        pool.healthChecked(name: "n1", url: "http://n1", healthy: true, now: 1)
        #expect(pool.acquire(now: 1) == nil)
        pool.healthChecked(name: "n1", url: "http://n1-new", healthy: true, now: 2)
        #expect(pool.acquire(now: 2)?.url == "http://n1-new")
    }

    @Test("of the two nodes drawn, the one with fewer requests in flight wins")
    func powerOfTwoChoices() throws {
        let pool = Self.admitted(["n1", "n2"])
        let busy = try #require(pool.acquire(excluding: ["n2"], now: 0))
        #expect(busy.name == "n1")
        // Whatever the draws, with two nodes both are compared: n2 (idle) wins every time.
        for draw in 0..<2 {
            let lease = try #require(pool.acquire(now: 1, random: { count in draw % count }))
            #expect(lease.name == "n2")
            pool.release(lease, outcome: .answered, now: 2)
        }
        #expect(pool.nodes.first { $0.name == "n1" }?.inFlight == 1)
        pool.release(busy, outcome: .answered, now: 3)
        #expect(pool.nodes.allSatisfy { $0.inFlight == 0 })
        #expect(pool.nodes.map(\.requests) == [1, 2])
    }

    @Test("draws index the routable nodes in name order, whatever order the table holds them in")
    func drawsInNameOrder() throws {
        let names = ["n5", "n2", "n9", "n1", "n7"]
        let pool = Self.admitted(names)
        pool.update(name: "n2", url: "http://n2", membership: .dead)
        let routable = names.filter { $0 != "n2" }.sorted()
        // Equal load: the first draw wins; the second only when it ranks better.
        for (draw, expected) in routable.enumerated() {
            let lease = try #require(pool.acquire(now: 0, random: { count in min(draw, count - 1) }))
            #expect(lease.name == expected, "draw \(draw)")
            pool.release(lease, outcome: .answered, now: 1)
        }
        #expect(pool.acquire(excluding: Set(routable), now: 2) == nil, "the dead node is not drawn")
        #expect(pool.acquire(only: "n9", now: 2, random: { _ in 0 })?.name == "n9")
    }
}

@Suite("RequestRoute: writes, cacheable reads, which failed requests may be retried")
struct RequestRouteTests {
    @Test("record paths and methods")
    func classification() {
        let list = RequestRoute(method: "GET", path: "/api/collections/quotes/records")
        #expect(list.isRecordRead && !list.isWrite && list.collection == "quotes" && list.recordID == nil)
        let view = RequestRoute(method: "GET", path: "/api/collections/quotes/records/abc123")
        #expect(view.isRecordRead && view.recordID == "abc123")
        let auth = RequestRoute(method: "POST", path: "/api/collections/users/auth-with-password")
        #expect(auth.isWrite && auth.collection == nil && !auth.isRecordRead)
        #expect(!RequestRoute(method: "GET", path: "/api/health").isRecordRead)
        let doubled = RequestRoute(method: "PATCH", path: "//api/collections/quotes/records/abc//")
        #expect(doubled.collection == "quotes" && doubled.recordID == "abc", "empty path components are skipped, as the node's router does")
    }

    @Test("the public port's API: /api/... except the nodes' /api/cluster and the gateway's /api/gateway, the account-mail pages and the dashboard, however the slashes are spelled")
    func publicPaths() {
        for path in ["/api/health", "/api/collections/quotes/records", "/api/realtime", "/api/sync", "/api/clusters", "/api"] {
            #expect(RequestRoute(method: "GET", path: path).isPublic, "\(path)")
        }
        for path in ["/api/cluster", "/api/cluster/", "//api//cluster", "/api/cluster/members", "/api/cluster/overview/x", "/api/gateway", "/metrics", "/", "", "/API/health", "/_/x/y"] {
            #expect(!RequestRoute(method: "GET", path: path).isPublic, "\(path)")
        }
        // The admin dashboard (issue 15): GETs of its page and files; the cluster overview (the
        // node answers it to superusers only); the gateway's status, to superusers, by the gateway.
        for path in ["/_/", "/_", "/_/app.js", "//_//app.css", "/api/cluster/overview"] {
            #expect(RequestRoute(method: "GET", path: path).isPublic, "\(path)")
        }
        #expect(!RequestRoute(method: "POST", path: "/_/").isPublic)
        #expect(RequestRoute(method: "GET", path: "/api/gateway").isGatewayStatus)
        #expect(RequestRoute(method: "GET", path: "//api/gateway/").isGatewayStatus)
        #expect(!RequestRoute(method: "GET", path: "/api/gateway/x").isGatewayStatus)
        // The pages account mails link to (a --public-url at the gateway): GETs of those four only.
        for path in ["/auth/confirm-password-reset", "/auth/confirm-verification", "/auth/confirm-email-change", "/auth/account.js", "//auth//account.js"] {
            #expect(RequestRoute(method: "GET", path: path).isPublic, "\(path)")
            #expect(!RequestRoute(method: "POST", path: path).isPublic, "POST \(path)")
        }
        for path in ["/auth", "/auth/", "/auth/other", "/auth/confirm-password-reset/x", "/AUTH/account.js"] {
            #expect(!RequestRoute(method: "GET", path: path).isPublic, "\(path)")
        }
    }

    @Test("authentication traffic: POST of PocketBase's sign-in, refresh and account actions under a collection; nothing else")
    func authTraffic() {
        for action in ["auth-with-password", "auth-with-oauth2", "auth-with-otp", "auth-refresh", "request-otp", "request-password-reset",
                       "confirm-password-reset", "request-verification", "confirm-verification", "request-email-change", "confirm-email-change"] {
            let route = RequestRoute(method: "POST", path: "/api/collections/users/\(action)")
            #expect(route.isAuth && route.isWrite, "\(action)")
            #expect(RequestRoute(method: "POST", path: "//api/collections/_pb_users_auth_/\(action)/").isAuth)
            #expect(!RequestRoute(method: "GET", path: "/api/collections/users/\(action)").isAuth)
        }
        for path in ["/api/collections/users/records", "/api/collections/users/auth-methods", "/api/collections/users/records/auth-with-password",
                     "/api/sync", "/api/realtime", "/api/collections/users/impersonate"] {
            #expect(!RequestRoute(method: "POST", path: path).isAuth, "\(path)")
        }
    }

    @Test("/api/sync and /api/realtime are recognized however the slashes are spelled")
    func syncAndRealtime() {
        #expect(RequestRoute(method: "POST", path: "/api/sync").isSync)
        #expect(RequestRoute(method: "POST", path: "//api/sync/").isSync)
        #expect(!RequestRoute(method: "POST", path: "/api/sync/x").isSync)
        #expect(RequestRoute(method: "GET", path: "/api/realtime").isRealtime)
        #expect(RequestRoute.isRealtimePath("//api//realtime/"))
        #expect(!RequestRoute.isRealtimePath("/api/realtime/x"))
        #expect(!RequestRoute.isRealtimePath("/api"))
    }

    @Test("reads, writes on a named record and creates with a client-chosen id are retried; others are not")
    func idempotency() {
        let records = RequestRoute(method: "POST", path: "/api/collections/quotes/records")
        #expect(records.isIdempotent(method: "POST", bodyHasID: true))
        #expect(!records.isIdempotent(method: "POST", bodyHasID: false))
        #expect(RequestRoute(method: "GET", path: "/api/health").isIdempotent(method: "GET", bodyHasID: false))
        #expect(RequestRoute(method: "HEAD", path: "/x").isIdempotent(method: "HEAD", bodyHasID: false))
        let one = RequestRoute(method: "PATCH", path: "/api/collections/quotes/records/abc")
        #expect(one.isIdempotent(method: "PATCH", bodyHasID: false))
        #expect(one.isIdempotent(method: "DELETE", bodyHasID: false))
        let auth = RequestRoute(method: "POST", path: "/api/collections/users/auth-with-password")
        #expect(!auth.isIdempotent(method: "POST", bodyHasID: true))
        let withID = ForwardedRequest.bodyHasID(ByteBuffer(string: #"{"id":"abcdefghijklmno","content":"x"}"#))
        let withoutID = ForwardedRequest.bodyHasID(ByteBuffer(string: #"{"content":"x"}"#))
        let notJSON = ForwardedRequest.bodyHasID(ByteBuffer(string: "not json"))
        #expect(withID)
        #expect(withoutID == false)
        #expect(notJSON == false)
    }
}

import NIOCore

@Suite("Read-your-writes affinity")
struct WriterAffinityTests {
    @Test("a user's requests prefer the node of their last write within the window, when it is routable")
    func affinity() throws {
        let affinity = WriterAffinity(windowNanos: 100)
        affinity.wrote(user: "u1", on: "n2", now: 1_000)
        #expect(affinity.node(for: "u1", now: 1_050) == "n2")
        #expect(affinity.node(for: "u2", now: 1_050) == nil)
        #expect(affinity.node(for: "u1", now: 1_100) == nil)

        let pool = NodePoolTests.admitted(["n1", "n2", "n3"])
        for _ in 0..<10 {
            let lease = try #require(pool.acquire(preferring: "n2", now: 0))
            #expect(lease.name == "n2")
            pool.release(lease, outcome: .answered, now: 1)
        }
        #expect(pool.acquire(excluding: ["n2"], preferring: "n2", now: 2)?.name != "n2", "a retry goes elsewhere")
        let failing = try #require(pool.acquire(preferring: "n2", now: 3))
        pool.release(failing, outcome: .connectionFailed, now: 4)
        #expect(pool.acquire(preferring: "n2", now: 5)?.name != "n2", "an ejected node is not preferred")
    }
}

@Suite("Request paths read as bytes")
struct RequestPathBytesTests {
    @Test("PathComponents holds what split(separator: \"/\") gives (its count, its first five), for any text; path and query split at the first ?")
    func sameAsSplit() {
        var rng = SplitMix64Testing(seed: 7)
        let alphabet: [String] = ["/", "/", "a", "pi", "é", "e\u{301}", "?", "%2F", "👍🏽", " ", "\u{0}"]
        for _ in 0..<2000 {
            let text = (0..<Int(rng.next() % 16)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
            let split = text.split(separator: "/", omittingEmptySubsequences: true)
            let parts = PathComponents(text[...])
            #expect(parts.count == split.count, "\(text)")
            #expect((0..<min(parts.count, PathComponents.kept)).map { parts[$0] } == Array(split.prefix(PathComponents.kept)), "\(text)")
            #expect(parts.first == split.first, "\(text)")
            let expectedPath = text.firstIndex(of: "?").map { text[..<$0] } ?? text[...]
            #expect(GatewayRequest.path(of: text) == expectedPath, "\(text)")
        }
    }
}

/// A tiny deterministic generator for the property test above.
struct SplitMix64Testing {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
