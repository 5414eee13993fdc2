import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Issue 17: several gateways, one set of limits. Gateway processes in front of one node; one
/// user offered at 10x its rate, spread evenly over two gateways, is admitted within 10 % of
/// rate × time + burst in total; a gateway that does not hear another one it believes alive keeps
/// to its share.
@Suite("Rate limits shared by several gateways", .serialized, .timeLimit(.minutes(3)))
struct SharedLimitsTests {
    static let policy = ["--rate-limit", "user:user:all:20:20", "--cache-bytes", "0"]

    /// A node, a user with its token, and gateways named `names` with `extra` arguments each.
    static func start(_ cluster: LocalCluster, gateways names: [String], extra: [[String]]) async throws -> (token: String, gateways: [GatewayProcess]) {
        try cluster.start(["n1"])
        let api = cluster.http("n1")
        #expect(try await api.send("POST", "/api/collections/users/records", json: ["email": "lim@example.com", "password": "12345678", "passwordConfirm": "12345678"]).status == 200)
        let token = try #require(try await api.send("POST", "/api/collections/users/auth-with-password", json: ["identity": "lim@example.com", "password": "12345678"]).json["token"] as? String)
        var gateways: [GatewayProcess] = []
        for (name, arguments) in zip(names, extra) {
            let gateway = GatewayProcess(join: cluster.seedPorts(), extraArguments: ["--name", name] + policy + arguments)
            try gateway.start()
            gateways.append(gateway)
        }
        for gateway in gateways { #expect(try await gateway.waitUntilRouting(["n1"]), "\(gateway.logText)") }
        return (token, gateways)
    }

    /// The gateway's `stoa_gateway_ratelimit_silent_gateways` gauge.
    static func silent(_ gateway: GatewayProcess) async throws -> Double {
        sample(try await prometheusText(gateway.adminURL), "stoa_gateway_ratelimit_silent_gateways")
    }

    /// Keeps offering reads of the user's quotes for `seconds`: `workers` clients, each sending
    /// its next request 1/`perWorker` s after its last one started (or at once when the answer
    /// came later), round-robin over `gateways`. Demand never stops while the clock runs, so a
    /// loaded machine's pauses do not leave the limit's capacity unused (a pause under 1 s is
    /// covered by the burst); returns (admitted, offered, elapsed seconds, and the seconds after
    /// the start at which each request was sent, in order).
    static func offer(_ token: String, to gateways: [GatewayProcess], workers: Int = 8, perWorker: Int = 25, seconds: Double) async throws -> (admitted: Int, offered: Int, elapsed: Double, sent: [Double]) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = workers
        let session = URLSession(configuration: configuration)
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int64(seconds * 1000))
        let period = Duration.nanoseconds(1_000_000_000 / Int64(perWorker))
        let counts = try await withThrowingTaskGroup(of: (Int, Int, [Double]).self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var admitted = 0
                    var offered = 0
                    var times: [Double] = []
                    while ContinuousClock.now < end {
                        let sent = ContinuousClock.now
                        times.append(Self.seconds(sent - start))
                        let gateway = gateways[(worker + offered) % gateways.count]
                        var request = URLRequest(url: URL(string: gateway.baseURL + "/api/collections/quotes/records?perPage=1")!)
                        request.setValue(token, forHTTPHeaderField: "Authorization")
                        let (_, response) = try await session.data(for: request)
                        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                        #expect(status == 200 || status == 429, "status \(status)")
                        offered += 1
                        if status == 200 { admitted += 1 }
                        try await Task.sleep(until: min(sent + period, end), clock: .continuous)
                    }
                    return (admitted, offered, times)
                }
            }
            return try await group.reduce((0, 0, [])) { ($0.0 + $1.0, $0.1 + $1.1, $0.2 + $1.2) }
        }
        return (counts.0, counts.1, Self.seconds(ContinuousClock.now - start), counts.2.sorted())
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// How many requests sent at `times` (seconds, ascending) a token bucket of `rate` per second
    /// and `burst`, full at 0, admits: the most any limiter with that policy can admit for that
    /// demand. A loaded machine stalls the clients for seconds at a time (a CI run offered 84
    /// requests in 12 s where 1200 in 6 s is usual, and 45 were admitted); capacity left unused
    /// by a stall longer than the burst is lost, so the lower bounds below are fractions of this,
    /// not of rate × time.
    static func bucketAdmits(_ times: [Double], rate: Double, burst: Double) -> Int {
        var tokens = burst
        var last = 0.0
        var admitted = 0
        for time in times {
            tokens = min(burst, tokens + (time - last) * rate)
            last = time
            if tokens >= 1 {
                tokens -= 1
                admitted += 1
            }
        }
        return admitted
    }

    @Test("one user at 10x its rate over two gateways: admitted near rate × time + burst in total, never the 2x of separate limits")
    func sharedLimit() async throws {
        let cluster = try LocalCluster(label: "shared-limits")
        defer { cluster.stopAll() }
        let (token, gateways) = try await Self.start(cluster, gateways: ["g1", "g2"], extra: [[], []])
        defer { for gateway in gateways { gateway.kill(signal: SIGKILL) } }
        // Each hears the other (no share reserved) before the load starts.
        #expect(try await eventually {
            let first = try await Self.silent(gateways[0])
            let second = try await Self.silent(gateways[1])
            return first == 0 && second == 0
        })
        let (admitted, offered, elapsed, sent) = try await Self.offer(token, to: gateways, seconds: 6)
        let expected = 20 * elapsed + 20
        let bucket = Self.bucketAdmits(sent, rate: 20, burst: 20)
        print("shared limit, two gateways: \(admitted) admitted of \(offered) offered in \(String(format: "%.2f", elapsed)) s; expected \(Int(expected)), one bucket for what was sent \(bucket)")
        // Never more than 10 % over (separate limits give 2x). A loaded machine may delay the
        // gateways' reports past 2 s (each then keeps to half the rate for a while), so the bound
        // below is looser, and it is a fraction of what one bucket admits for the requests as
        // they were sent (a stalled client leaves capacity unused); the ±10 % figure is the
        // benchmark's (benchmarks/shared_limits.py).
        #expect(Double(admitted) <= expected * 1.1, "\(admitted) admitted, expected \(expected)")
        #expect(Double(admitted) >= Double(bucket) * 0.7, "\(admitted) admitted of \(offered), one bucket \(bucket), expected \(expected)")
    }

    @Test("a gateway that cannot hear another it believes alive keeps to its share (half the rate with two)")
    func fallbackShare() async throws {
        let cluster = try LocalCluster(label: "shared-limits-fallback")
        defer { cluster.stopAll() }
        // g2 sends no reports: g1 hears nothing from a gateway membership says is alive.
        let (token, gateways) = try await Self.start(cluster, gateways: ["g1", "g2"], extra: [[], ["--limit-exchange-ms", "0"]])
        defer { for gateway in gateways { gateway.kill(signal: SIGKILL) } }
        #expect(try await eventually { try await Self.silent(gateways[0]) == 1 })
        let (admitted, offered, elapsed, sent) = try await Self.offer(token, to: [gateways[0]], seconds: 6)
        let share = 10 * elapsed + 10
        let bucket = Self.bucketAdmits(sent, rate: 10, burst: 10)
        print("fallback share, one of two gateways silent: \(admitted) admitted of \(offered) in \(String(format: "%.2f", elapsed)) s; its share \(Int(share)), its share's bucket for what was sent \(bucket)")
        // Never more than its share (+15 %); below what its share's bucket admits for the requests
        // as they were sent only when a loaded machine stalls the gateway too: the benchmark has
        // the exact figure.
        #expect(Double(admitted) <= share * 1.15 && Double(admitted) >= Double(bucket) * 0.6, "\(admitted) admitted of \(offered), its share \(share), its bucket \(bucket)")
        // Once membership declares the silent gateway dead, the whole rate is this gateway's again.
        gateways[1].kill(signal: SIGKILL)
        #expect(try await eventually(timeout: .seconds(40)) { try await Self.silent(gateways[0]) == 0 })
    }

    @Test("gateways with the same name cannot tell their reports apart: each keeps its own limits, none waits for the other")
    func sameName() async throws {
        let cluster = try LocalCluster(label: "shared-limits-same-name")
        defer { cluster.stopAll() }
        let (token, gateways) = try await Self.start(cluster, gateways: ["gateway", "gateway"], extra: [[], []])
        defer { for gateway in gateways { gateway.kill(signal: SIGKILL) } }
        try await Task.sleep(for: .seconds(1))
        #expect(try await Self.silent(gateways[0]) == 0)
        #expect(try await Self.silent(gateways[1]) == 0)
        // Through one of them: the whole policy (its limits are its own).
        let (admitted, _, elapsed, sent) = try await Self.offer(token, to: [gateways[0]], seconds: 3)
        let whole = 20 * elapsed + 20
        let bucket = Self.bucketAdmits(sent, rate: 20, burst: 20)
        #expect(Double(admitted) <= whole * 1.15 && Double(admitted) >= Double(bucket) * 0.6, "\(admitted) admitted, the whole policy \(whole), its bucket \(bucket)")
    }
}
