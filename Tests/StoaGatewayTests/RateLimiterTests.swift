import Testing
@testable import StoaGateway

private let second: UInt64 = 1_000_000_000

private func policy(_ text: String) -> RateLimitPolicy {
    try! RateLimitPolicy(parsing: text)
}

private func header(_ decision: RateLimitDecision, _ name: String) -> String? {
    decision.headers.first { $0.name == name }?.value
}

private let anonymousRead = RateLimitRequest(user: nil, clientKey: "192.0.2.1", isWrite: false)

@Suite("Rate limiter: GCRA exactness")
struct RateLimiterExactnessTests {
    @Test("1000 r/s burst 100 over 10 s admits exactly 10,100 of 20,000 offered evenly")
    func evenOffer() {
        var limiter = RateLimiter(policies: [policy("ip:ip:all:1000:100")])
        let start: UInt64 = 7 * second  // any start: the key is idle until its first request
        var admitted = 0
        for i in 0..<UInt64(20_000) {
            let now = start + i * (10 * second) / 19_999  // first at start, last at start + 10 s
            if limiter.decide(anonymousRead, now: now).admitted { admitted += 1 }
        }
        #expect(admitted == 10_100)
        #expect(limiter.statistics.policies[0].admitted == 10_100)
        #expect(limiter.statistics.policies[0].rejected == 9_900)
    }

    @Test("1000 r/s burst 100 over 10 s admits exactly 10,100 of 20,000 offered in 125 bursts of 160")
    func burstOffer() {
        var limiter = RateLimiter(policies: [policy("ip:ip:all:1000:100")])
        var admitted = 0
        for k in 0..<UInt64(125) {
            let now = k * (10 * second) / 124  // bursts 80.6 ms apart: the bucket never overflows
            for _ in 0..<160 where limiter.decide(anonymousRead, now: now).admitted { admitted += 1 }
        }
        #expect(admitted == 10_100)
    }

    @Test(
        "rates that are not a whole number of nanoseconds per request stay exact: floor(rate·D) + burst",
        arguments: [(3.0, 2, 10), (0.5, 1, 10), (2.5, 3, 7), (1.0 / 3.0, 4, 30), (123.456, 10, 5)]
    )
    func fractionalRates(rate: Double, burst: Int, seconds: Int) {
        var limiter = RateLimiter(policies: [RateLimitPolicy(name: "p", scope: .ip, traffic: .all, rate: rate, burst: burst)])
        var admitted = 0
        let step: UInt64 = 1_000_000  // offered every millisecond over [0, D]
        let end = UInt64(seconds) * second
        var now: UInt64 = 0
        while now <= end {
            if limiter.decide(anonymousRead, now: now).admitted { admitted += 1 }
            now += step
        }
        let rateMicros = (rate * 1_000_000).rounded()  // the limiter's rate is exact to 10⁻⁶ r/s
        let expected = Int((rateMicros * Double(seconds) / 1_000_000).rounded(.down)) + burst
        #expect(admitted == expected)
    }

    @Test("a long idle period refills only up to the burst")
    func idleRefillCapped() {
        var limiter = RateLimiter(policies: [policy("ip:ip:all:10:5")])
        var admitted = 0
        for _ in 0..<20 where limiter.decide(anonymousRead, now: 0).admitted { admitted += 1 }
        #expect(admitted == 5)
        admitted = 0
        for _ in 0..<20 where limiter.decide(anonymousRead, now: 3600 * second).admitted { admitted += 1 }
        #expect(admitted == 5)
    }
}

@Suite("Rate limiter: policies together")
struct RateLimiterPolicyTests {
    @Test("a rejection by the user policy does not charge the ip policy")
    func userRejectionDoesNotChargeIP() {
        var limiter = RateLimiter(policies: [policy("ip:ip:all:0.000001:5"), policy("user:user:all:0.000001:2")])
        let ann = RateLimitRequest(user: "ann", clientKey: "192.0.2.1", isWrite: false)
        let results = (0..<5).map { _ in limiter.decide(ann, now: 0) }
        #expect(results.map(\.admitted) == [true, true, false, false, false])
        #expect(results[2].limitingPolicy == "user")
        // The ip key was charged twice only: three anonymous requests from it still pass.
        let anonymous = (0..<4).map { _ in limiter.decide(anonymousRead, now: 0).admitted }
        #expect(anonymous == [true, true, true, false])
        let stats = limiter.statistics
        #expect(stats.policies.map(\.admitted) == [5, 2])
        #expect(stats.policies.map(\.rejected) == [1, 3])
        #expect(stats.admitted == 5 && stats.rejected == 4)
    }

    @Test("a rejection by the ip policy does not charge the user policy")
    func ipRejectionDoesNotChargeUser() {
        var limiter = RateLimiter(policies: [policy("ip:ip:all:0.000001:1"), policy("user:user:all:0.000001:5")])
        let fromX = RateLimitRequest(user: "bob", clientKey: "192.0.2.1", isWrite: false)
        let fromY = RateLimitRequest(user: "bob", clientKey: "192.0.2.2", isWrite: false)
        #expect(limiter.decide(fromX, now: 0).admitted)
        for _ in 0..<3 {
            let rejected = limiter.decide(fromX, now: 0)
            #expect(!rejected.admitted)
            #expect(rejected.limitingPolicy == "ip")
        }
        // bob spent one of five; the ip rejections cost him nothing.
        #expect(limiter.decide(fromY, now: 0).admitted)  // fromY's ip key: first request
        let ipZ = (3...6).map { RateLimitRequest(user: "bob", clientKey: "192.0.2.\($0)", isWrite: false) }
        #expect(ipZ.map { limiter.decide($0, now: 0).admitted } == [true, true, true, false])
    }

    @Test("writes and reads have separate budgets; a global write budget spans users and addresses")
    func readsAndWrites() {
        var limiter = RateLimiter(policies: [
            policy("ip-reads:ip:reads:100:100"),
            policy("ip-writes:ip:writes:0.000001:2"),
            policy("global-writes:global:writes:0.000001:3"),
        ])
        let write = RateLimitRequest(user: "ann", clientKey: "192.0.2.1", isWrite: true)
        #expect(limiter.decide(write, now: 0).admitted)
        #expect(limiter.decide(write, now: 0).admitted)
        let third = limiter.decide(write, now: 0)
        #expect(!third.admitted && third.limitingPolicy == "ip-writes")
        // Reads from the same address are untouched by writes.
        let read = limiter.decide(RateLimitRequest(user: "ann", clientKey: "192.0.2.1", isWrite: false), now: 0)
        #expect(read.admitted)
        #expect(header(read, "RateLimit") == "\"ip-reads\";r=99;t=1")
        #expect(header(read, "RateLimit-Policy") == "\"ip-reads\";q=100;w=1")
        // The global budget (3) has one write left, whoever sends it.
        let other = RateLimitRequest(user: "bob", clientKey: "198.51.100.7", isWrite: true)
        #expect(limiter.decide(other, now: 0).admitted)
        let fourth = limiter.decide(RateLimitRequest(user: nil, clientKey: "203.0.113.9", isWrite: true), now: 0)
        #expect(!fourth.admitted && fourth.limitingPolicy == "global-writes")
    }

    @Test("auth traffic: PocketBase's default *:auth rule (2 per 3 s) per address, evaluated with the other policies; authentication counts as a write, reads are untouched")
    func authTraffic() throws {
        let defaults = try GatewayConfiguration.defaultPolicies.map { try RateLimitPolicy(parsing: $0) }
        let auth = try #require(defaults.first { $0.traffic == .auth })
        #expect(auth.scope == .ip && auth.burst == 2 && abs(auth.rate - 2.0 / 3.0) < 1e-5)
        var limiter = RateLimiter(policies: defaults + [policy("ip-writes:ip:writes:100:100")])
        let signIn = RateLimitRequest(user: nil, clientKey: "192.0.2.1", isWrite: true, isAuth: true)
        let first = limiter.decide(signIn, now: 0)
        #expect(first.admitted)
        #expect(header(first, "RateLimit-Policy")?.contains("\"auth\";q=2;w=3") == true)
        #expect(limiter.decide(signIn, now: second / 10).admitted)
        let third = limiter.decide(signIn, now: second / 5)
        #expect(!third.admitted && third.limitingPolicy == "auth")
        #expect(third.retryAfterSeconds == 2, "the next sign-in conforms 1.5 s after the first two")
        // The other policies were charged only for the admitted two.
        #expect(limiter.statistics.policies.first { $0.name == "ip-writes" }?.admitted == 2)
        // Reads and other writes from the same address are not held by the auth limit.
        #expect(limiter.decide(RateLimitRequest(user: nil, clientKey: "192.0.2.1", isWrite: false), now: second / 5).admitted)
        #expect(limiter.decide(RateLimitRequest(user: "ann", clientKey: "192.0.2.1", isWrite: true), now: second / 5).admitted)
        // Another address has its own budget; the first one gets one more after 1.5 s.
        #expect(limiter.decide(RateLimitRequest(user: nil, clientKey: "192.0.2.2", isWrite: true, isAuth: true), now: second / 5).admitted)
        #expect(limiter.decide(signIn, now: 3 * second / 2 + second / 100).admitted)
        #expect(!limiter.decide(signIn, now: 3 * second / 2 + second / 50).admitted)
        #expect(RateLimitTraffic.auth.applies(isWrite: true, isAuth: true) && !RateLimitTraffic.auth.applies(isWrite: true))
        #expect(RateLimitTraffic.writes.applies(isWrite: false, isAuth: true) && !RateLimitTraffic.reads.applies(isWrite: false, isAuth: true))
        #expect(throws: RateLimitPolicyError.self) { try RateLimitPolicy(parsing: "x:ip:login:1:1") }
    }

    @Test("anonymous requests skip user policies and are limited by address")
    func anonymous() {
        var limiter = RateLimiter(policies: [policy("user:user:all:0.000001:1"), policy("ip:ip:all:0.000001:3")])
        let results = (0..<4).map { _ in limiter.decide(anonymousRead, now: 0) }
        #expect(results.map(\.admitted) == [true, true, true, false])
        #expect(header(results[0], "RateLimit-Policy") == "\"ip\";q=3;w=3000000")
        #expect(header(results[0], "RateLimit")?.hasPrefix("\"ip\";r=2;") == true)
        #expect(limiter.statistics.policies[0].admitted == 0)
        // With only user policies an anonymous request has no limit and no rate-limit headers.
        var userOnly = RateLimiter(policies: [policy("user:user:all:1:1")])
        let free = userOnly.decide(anonymousRead, now: 0)
        #expect(free.admitted && free.headers.isEmpty && free.limitingPolicy == nil)
    }
}

@Suite("Rate limiter: headers")
struct RateLimiterHeaderTests {
    @Test("RateLimit-Policy and RateLimit name every applicable policy; Retry-After only on 429")
    func exactHeaders() {
        var limiter = RateLimiter(policies: [policy("ip-reads:ip:reads:100:100"), policy("user-reads:user:reads:10:50")])
        let ann = RateLimitRequest(user: "ann", clientKey: "192.0.2.1", isWrite: false)
        let first = limiter.decide(ann, now: 0)
        #expect(first.headers.map(\.name) == ["RateLimit-Policy", "RateLimit"])
        #expect(header(first, "RateLimit-Policy") == "\"ip-reads\";q=100;w=1, \"user-reads\";q=50;w=5")
        #expect(header(first, "RateLimit") == "\"ip-reads\";r=99;t=1, \"user-reads\";r=49;t=1")
        #expect(first.limitingPolicy == "user-reads" && first.retryAfterSeconds == nil)
        for _ in 1..<50 { _ = limiter.decide(ann, now: 0) }
        let rejected = limiter.decide(ann, now: 0)
        #expect(!rejected.admitted)
        #expect(rejected.headers.map(\.name) == ["RateLimit-Policy", "RateLimit", "Retry-After"])
        #expect(header(rejected, "RateLimit") == "\"ip-reads\";r=50;t=1, \"user-reads\";r=0;t=5")
        #expect(header(rejected, "Retry-After") == "1")  // the next one conforms 100 ms later
        #expect(rejected.retryAfterSeconds == 1 && rejected.limitingPolicy == "user-reads")
        // Idle again: the full quota and t=0.
        let later = limiter.decide(RateLimitRequest(user: "ann", clientKey: "192.0.2.1", isWrite: false), now: 60 * second)
        #expect(header(later, "RateLimit") == "\"ip-reads\";r=99;t=1, \"user-reads\";r=49;t=1")
    }

    @Test("Retry-After is the wait rounded up to whole seconds, at least 1")
    func retryAfterValues() {
        var limiter = RateLimiter(policies: [policy("slow:ip:all:0.5:1")])  // one request per 2 s
        #expect(limiter.decide(anonymousRead, now: 0).admitted)
        #expect(limiter.decide(anonymousRead, now: 0).retryAfterSeconds == 2)
        #expect(limiter.decide(anonymousRead, now: second / 2).retryAfterSeconds == 2)  // 1.5 s
        #expect(limiter.decide(anonymousRead, now: second).retryAfterSeconds == 1)  // 1 s exactly
        #expect(limiter.decide(anonymousRead, now: 2 * second - 1).retryAfterSeconds == 1)  // 1 ns
        #expect(limiter.decide(anonymousRead, now: 2 * second).admitted)
    }

    @Test("Retry-After is the longest wait of the rejecting policies, and waiting it suffices")
    func retryAfterProperty() {
        var limiter = RateLimiter(policies: [
            policy("a:ip:all:3:4"), policy("b:user:all:0.25:2"), policy("c:global:writes:1.5:3"),
        ])
        var state: UInt64 = 42
        func next(_ bound: UInt64) -> UInt64 {  // a small LCG: deterministic, no dependency
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        var now: UInt64 = 0
        var checked = 0
        for _ in 0..<2_000 {
            now += next(400_000_000)
            let request = RateLimitRequest(user: "u\(next(2))", clientKey: "10.0.0.\(next(2))", isWrite: next(2) == 0)
            let decision = limiter.decide(request, now: now)
            guard !decision.admitted, let retry = decision.retryAfterSeconds else { continue }
            #expect(retry >= 1)
            #expect(header(decision, "Retry-After") == String(retry))
            var probe = limiter  // a copy: value semantics, the original is unchanged
            if retry > 1 {
                #expect(!probe.decide(request, now: now + UInt64(retry - 1) * second).admitted)
            }
            #expect(probe.decide(request, now: now + UInt64(retry) * second).admitted)
            checked += 1
        }
        #expect(checked > 100)
    }
}

@Suite("Rate limiter: key table")
struct RateLimiterKeyTableTests {
    @Test("1,000,000 distinct keys never grow the table past maxKeys")
    func boundedUnderManyKeys() {
        let maxKeys = 1_000
        var limiter = RateLimiter(policies: [policy("ip:ip:all:1:10")], maxKeys: maxKeys)
        var largest = 0
        for i in 0..<1_000_000 {
            let request = RateLimitRequest(user: nil, clientKey: String(i), isWrite: false)
            _ = limiter.decide(request, now: UInt64(i) * 1_000)  // 1 µs apart: no key goes idle
            largest = max(largest, limiter.table.count)
        }
        #expect(largest == maxKeys)
        let stats = limiter.statistics
        #expect(stats.keys == maxKeys)
        #expect(stats.evictedKeys == UInt64(1_000_000 - maxKeys))
        #expect(stats.admitted == 1_000_000)
    }

    @Test("several policies over a table as small as the policy count stay within it and consistent")
    func tinyTableSeveralPolicies() {
        var limiter = RateLimiter(
            policies: [policy("a:ip:all:2:2"), policy("b:user:all:1:3"), policy("c:global:writes:5:5")], maxKeys: 3
        )
        var state: UInt64 = 5
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        var now: UInt64 = 0
        for _ in 0..<5_000 {
            now += next(100_000_000)
            let user: String? = next(3) == 0 ? nil : "u\(next(5))"
            let request = RateLimitRequest(user: user, clientKey: "ip\(next(5))", isWrite: next(2) == 0)
            let decision = limiter.decide(request, now: now)
            #expect(limiter.table.count <= 3)
            // Whatever was evicted, an admitted request leaves one entry per applicable policy.
            if decision.admitted {
                let applicable = limiter.applicable[RateLimiter.classIndex(request)]
                for index in applicable {
                    #expect(limiter.table.slot(of: limiter.limiterKey(index, request)) != nil)
                }
            }
        }
        var walked = 0
        var slot = limiter.table.leastRecent
        while let current = slot {
            walked += 1
            slot = limiter.table.moreRecent(than: current)
        }
        #expect(walked == limiter.table.count)
        #expect(limiter.statistics.evictedKeys > 0)
    }

    @Test("a limited key that keeps sending stays in the table while others are evicted")
    func activeKeyStays() {
        var limiter = RateLimiter(policies: [policy("ip:ip:all:0.000001:1")], maxKeys: 10)
        let abuser = RateLimitRequest(user: nil, clientKey: "203.0.113.66", isWrite: false)
        #expect(limiter.decide(abuser, now: 0).admitted)
        for i in 0..<1_000 {
            _ = limiter.decide(RateLimitRequest(user: nil, clientKey: "k\(i)", isWrite: false), now: 1)
            #expect(!limiter.decide(abuser, now: 1).admitted)
        }
        let top = limiter.statistics.policies[0].topLimitedKeys
        #expect(top.first == RateLimitStatistics.LimitedKey(key: "203.0.113.66", rejected: 1_000))
    }

    @Test("keys back at idle are dropped, and so are keys unseen for the idle TTL")
    func idleKeysExpire() {
        var limiter = RateLimiter(policies: [policy("ip:ip:all:10:5")], idleTTLNanos: 3600 * second)
        for i in 0..<100 { _ = limiter.decide(RateLimitRequest(user: nil, clientKey: "k\(i)", isWrite: false), now: 0) }
        #expect(limiter.statistics.keys == 100)
        limiter.expire(now: 99_000_000)  // 99 ms: every key has a TAT of 100 ms, none idle
        #expect(limiter.statistics.keys == 100)
        limiter.expire(now: 100_000_000)
        #expect(limiter.statistics.keys == 0 && limiter.statistics.expiredKeys == 100)

        var slow = RateLimiter(policies: [policy("ip:ip:all:0.000001:3")], idleTTLNanos: 10 * second)
        for i in 0..<50 { _ = slow.decide(RateLimitRequest(user: nil, clientKey: "k\(i)", isWrite: false), now: 0) }
        slow.expire(now: 10 * second - 1)
        #expect(slow.statistics.keys == 50)
        // decide() alone drops up to two per call.
        for _ in 0..<10 { _ = slow.decide(anonymousRead, now: 10 * second) }
        #expect(slow.statistics.keys == 50 - 20 + 1)
        slow.expire(now: 10 * second)
        #expect(slow.statistics.keys == 1)  // only the key just used
    }

    @Test("decisions match a reference GCRA that never forgets a key, though idle keys are dropped")
    func matchesReference() {
        var limiter = RateLimiter(policies: [policy("ip:ip:all:5:3")])  // T = 200 ms, τ = 400 ms
        var reference: [String: UInt64] = [:]  // key → TAT in ns
        var state: UInt64 = 7
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        var now: UInt64 = 0
        for _ in 0..<5_000 {
            now += next(3) == 0 ? next(900_000_000) : next(50_000_000)
            let key = "k\(next(4))"
            let tat = max(reference[key] ?? 0, now)
            let expected = tat - now <= 400_000_000
            if expected { reference[key] = tat + 200_000_000 }
            if next(10) == 0 { limiter.expire(now: now) }
            let decision = limiter.decide(RateLimitRequest(user: nil, clientKey: key, isWrite: false), now: now)
            #expect(decision.admitted == expected)
        }
        #expect(limiter.statistics.expiredKeys > 0)
        #expect(limiter.statistics.evictedKeys == 0)
    }

    @Test("a table of one key still decides exactly when every switch finds the old key idle")
    func squeezedTable() {
        var squeezed = RateLimiter(policies: [policy("ip:ip:all:5:3")], maxKeys: 1)
        var admitted = 0
        var now: UInt64 = 0
        for round in 0..<300 {
            let request = RateLimitRequest(user: nil, clientKey: "k\(round % 3)", isWrite: false)
            for offset: UInt64 in [0, 0, 0, 0, 50_000_000, 100_000_000, 150_000_000] {
                if squeezed.decide(request, now: now + offset).admitted { admitted += 1 }
            }
            now += 800_000_000  // the last TAT is at most now + 150 ms + 600 ms
        }
        #expect(admitted == 300 * 3)  // each round: the burst of 3, then nothing conforms within 150 ms
        #expect(squeezed.statistics.evictedKeys == 0)
        #expect(squeezed.statistics.expiredKeys == 299)
    }
}

@Suite("Rate limiter: most limited keys")
struct RateLimitTopKeysTests {
    @Test("heavy hitters among many rejected keys are reported first, counts are lower bounds, memory is bounded")
    func spaceSaving() {
        var top = RateLimitTopKeys(capacity: 4 * RateLimiter.topKeysReported)
        var exact: [String: UInt64] = [:]
        var state: UInt64 = 9
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        for step in 0..<50_000 {
            // Three heavy keys (about 10%, 6%, 4% of rejections) in a stream of 5,000 light ones.
            let key: String
            switch step % 50 {
            case 0..<5: key = "heavy-a"
            case 5..<8: key = "heavy-b"
            case 8..<10: key = "heavy-c"
            default: key = "light-\(next(5_000))"
            }
            top.record(key)
            exact[key, default: 0] += 1
            #expect(top.keys.count <= 40)
        }
        let reported = top.top(10)
        #expect(reported.prefix(3).map(\.key) == ["heavy-a", "heavy-b", "heavy-c"])
        for entry in reported { #expect(entry.rejected <= exact[entry.key]!) }
        // Monitored since their first rejection: exact.
        #expect(reported.prefix(3).map(\.rejected) == [5_000, 3_000, 2_000])
    }
}

@Suite("Rate limit policy text")
struct RateLimitPolicyParsingTests {
    @Test("name:scope:traffic:rate:burst parses and prints back")
    func parses() throws {
        let parsed = try RateLimitPolicy(parsing: "ip-writes:ip:writes:10:20")
        #expect(parsed == RateLimitPolicy(name: "ip-writes", scope: .ip, traffic: .writes, rate: 10, burst: 20))
        #expect(try RateLimitPolicy(parsing: parsed.text) == parsed)
        #expect(try RateLimitPolicy(parsing: " user.reads : user : reads : 0.5 : 1 ").rate == 0.5)
    }

    @Test("a policy set with a repeated name or a table smaller than the policy count is refused")
    func policySet() throws {
        let policies = [policy("a:ip:all:1:1"), policy("b:user:all:1:1")]
        try RateLimiter.validate(policies, maxKeys: 2)
        #expect(throws: RateLimitPolicyError("rate limit policy name a is used twice; names must be unique")) {
            try RateLimiter.validate(policies + [policy("a:global:writes:1:1")], maxKeys: 10)
        }
        #expect(throws: RateLimitPolicyError.self) { try RateLimiter.validate(policies, maxKeys: 1) }
        #expect(throws: RateLimitPolicyError.self) {
            try RateLimiter.validate([RateLimitPolicy(name: "x", scope: .ip, traffic: .all, rate: -1, burst: 1)], maxKeys: 10)
        }
    }

    @Test(
        "bad policy text is refused with a message naming the bad part",
        arguments: [
            ("ip:ip:writes:10", "is not name:scope:traffic:rate:burst"),
            ("ip:host:writes:10:20", "scope \"host\""),
            ("ip:ip:posts:10:20", "traffic \"posts\""),
            ("ip:ip:writes:ten:20", "rate \"ten\""),
            ("ip:ip:writes:10:1.5", "burst \"1.5\""),
            ("ip:ip:writes:0:20", "rate 0.0 must be"),
            ("ip:ip:writes:nan:20", "rate nan must be"),
            ("ip:ip:writes:10:0", "burst 0 must be"),
            ("i\"p:ip:writes:10:1", "name \"i\"p\""),
            (":ip:writes:10:1", "name \"\""),
        ]
    )
    func refuses(text: String, message: String) {
        do {
            _ = try RateLimitPolicy(parsing: text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }
}
