import StoaGossip
import Testing
@testable import StoaGateway

/// Issue 17: one set of limits for several gateways. Two or three pure limiters on simulated
/// time, exchanging reports every 50 ms (as the shell does), a user offered at 5x the rate spread
/// evenly over them.
@Suite("Rate limits shared by several gateways")
struct SharedRateLimitTests {
    static let policy = try! RateLimitPolicy(parsing: "user:user:all:20:20")
    static let ann = RateLimitRequest(user: "ann", clientKey: "192.0.2.1", isWrite: false)

    /// Admitted in total over `seconds` with `gateways` limiters, `offered` requests per second
    /// spread round-robin, reports exchanged every `exchangeMillis` (0: never) and delivered
    /// `delayMillis` later.
    static func run(gateways: Int, seconds: Int, offered: Int, exchangeMillis: UInt64, delayMillis: UInt64 = 2) -> Int {
        var limiters = (0..<gateways).map { _ in
            var limiter = RateLimiter(policies: [policy])
            limiter.shareAdmissions(exchangeMillis > 0)
            return limiter
        }
        var inFlight: [(at: UInt64, to: Int, entries: [LimitReportEntry])] = []
        var admitted = 0
        let gap = 1_000_000_000 / UInt64(offered)
        var nextExchange = exchangeMillis * 1_000_000
        var now: UInt64 = 1_000_000_000
        let end = now + UInt64(seconds) * 1_000_000_000
        var request = 0
        while now < end {
            for (index, report) in inFlight.enumerated().reversed() where report.at <= now {
                limiters[report.to].absorb(report.entries, now: now)
                inFlight.remove(at: index)
            }
            if exchangeMillis > 0, now >= nextExchange {
                for from in 0..<gateways {
                    let entries = limiters[from].takeReport()
                    for to in 0..<gateways where to != from { inFlight.append((now + delayMillis * 1_000_000, to, entries)) }
                }
                nextExchange += exchangeMillis * 1_000_000
            }
            if limiters[request % gateways].decide(ann, now: now).admitted { admitted += 1 }
            request += 1
            now += gap
        }
        return admitted
    }

    @Test("two and three gateways, a user offered 5x the rate: admitted within 10 % of rate × time + burst")
    func sharedWithinTenPercent() {
        let expected = 20 * 10 + 20
        for gateways in [2, 3] {
            let admitted = Self.run(gateways: gateways, seconds: 10, offered: 100, exchangeMillis: 50)
            #expect(abs(admitted - expected) <= expected / 10, "\(gateways) gateways: \(admitted) admitted, expected \(expected)")
            // Without the exchange each gateway grants the whole policy.
            let alone = Self.run(gateways: gateways, seconds: 10, offered: 100, exchangeMillis: 0)
            #expect(alone >= gateways * expected * 9 / 10, "\(gateways) gateways alone: \(alone)")
        }
    }

    @Test("a gateway that reserves shares for silent peers admits its share only; reports are taken once")
    func reservedShares() {
        var limiter = RateLimiter(policies: [Self.policy])
        limiter.shareAdmissions(true)
        limiter.reserveShares(1)
        var admitted = 0
        var now: UInt64 = 1_000_000_000
        for _ in 0..<1000 {   // 100 r/s for 10 s
            if limiter.decide(Self.ann, now: now).admitted { admitted += 1 }
            now += 10_000_000
        }
        // Half the rate and half the burst: 10 × 10 + 10.
        #expect(abs(admitted - 110) <= 11, "\(admitted)")
        let report = limiter.takeReport()
        #expect(report == [LimitReportEntry(policy: "user", key: "ann", count: UInt64(admitted))])
        #expect(limiter.takeReport().isEmpty)
        // Unknown policies are ignored; a peer's admissions spend this gateway's budget.
        var fresh = RateLimiter(policies: [Self.policy])
        fresh.absorb([LimitReportEntry(policy: "other", key: "ann", count: 100), LimitReportEntry(policy: "user", key: "ann", count: 20)], now: now)
        #expect(!fresh.decide(Self.ann, now: now).admitted, "the burst was spent on another gateway")
        #expect(fresh.absorbed == ["user": 20])
    }

    @Test("reports are cut into datagram-sized runs")
    func chunks() {
        let entries = (0..<1000).map { LimitReportEntry(policy: "user", key: "user\($0)-0123456789", count: 1) }
        let chunks = GatewayMembership.datagramChunks(entries)
        #expect(chunks.count > 1)
        #expect(chunks.flatMap { $0 } == entries)
        for chunk in chunks { #expect(WireCodec.encode(.limits(from: "gateway-1", chunk)).count < 7000) }
        #expect(GatewayMembership.datagramChunks([]) == [[]])
    }
}
