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
    /// covered by the burst); returns (admitted, offered, elapsed seconds).
    static func offer(_ token: String, to gateways: [GatewayProcess], workers: Int = 8, perWorker: Int = 25, seconds: Double) async throws -> (admitted: Int, offered: Int, elapsed: Double) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = workers
        let session = URLSession(configuration: configuration)
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int64(seconds * 1000))
        let period = Duration.nanoseconds(1_000_000_000 / Int64(perWorker))
        let counts = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var admitted = 0
                    var offered = 0
                    while ContinuousClock.now < end {
                        let sent = ContinuousClock.now
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
                    return (admitted, offered)
                }
            }
            return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        }
        let elapsed = ContinuousClock.now - start
        return (counts.0, counts.1, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
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
        let (admitted, offered, elapsed) = try await Self.offer(token, to: gateways, seconds: 6)
        let expected = 20 * elapsed + 20
        print("shared limit, two gateways: \(admitted) admitted of \(offered) offered in \(String(format: "%.2f", elapsed)) s; expected \(Int(expected))")
        // Never more than 10 % over (separate limits give 2x). A loaded machine may delay the
        // gateways' reports past 2 s (each then keeps to half the rate for a while), so the bound
        // below is looser; the ±10 % figure is the benchmark's (benchmarks/shared_limits.py).
        // When the machine is so loaded that the clients offered less than the limit (a CI run
        // saw 103 requests in 6.4 s against 147 allowed), what was offered is the bound.
        #expect(Double(admitted) <= expected * 1.1, "\(admitted) admitted, expected \(expected)")
        #expect(Double(admitted) >= min(expected, Double(offered)) * 0.7, "\(admitted) admitted of \(offered), expected \(expected)")
    }

    @Test("a gateway that cannot hear another it believes alive keeps to its share (half the rate with two)")
    func fallbackShare() async throws {
        let cluster = try LocalCluster(label: "shared-limits-fallback")
        defer { cluster.stopAll() }
        // g2 sends no reports: g1 hears nothing from a gateway membership says is alive.
        let (token, gateways) = try await Self.start(cluster, gateways: ["g1", "g2"], extra: [[], ["--limit-exchange-ms", "0"]])
        defer { for gateway in gateways { gateway.kill(signal: SIGKILL) } }
        #expect(try await eventually { try await Self.silent(gateways[0]) == 1 })
        let (admitted, offered, elapsed) = try await Self.offer(token, to: [gateways[0]], seconds: 6)
        let share = 10 * elapsed + 10
        print("fallback share, one of two gateways silent: \(admitted) admitted in \(String(format: "%.2f", elapsed)) s; its share \(Int(share))")
        // Never more than its share (+15 %); below it only when a loaded machine stalls the client
        // or the gateway past the burst (1 s here): the benchmark has the exact figure.
        #expect(Double(admitted) <= share * 1.15 && Double(admitted) >= min(share, Double(offered)) * 0.6, "\(admitted) admitted of \(offered), its share \(share)")
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
        let (admitted, _, elapsed) = try await Self.offer(token, to: [gateways[0]], seconds: 3)
        let whole = 20 * elapsed + 20
        #expect(Double(admitted) <= whole * 1.15 && Double(admitted) >= whole * 0.6, "\(admitted) admitted, the whole policy \(whole)")
    }
}
