/// The aggregate of running one scenario over several seeds.
public struct ScenarioSummary: Sendable {
    public var scenario: String
    public var seedsRun = 0
    /// The results that violated an invariant.
    public var failures: [SimulationResult] = []
    public var simulatedMillis: UInt64 = 0
    public var messages = 0
    public var writesAcknowledged = 0
    public var driftRejections = 0
    /// Convergence times of the runs that converged, in milliseconds, in seed order.
    public var convergenceMillis: [UInt64] = []
    /// Wall-clock time spent, in seconds.
    public var wallSeconds: Double = 0

    public init(scenario: String) { self.scenario = scenario }

    mutating func add(_ result: SimulationResult) {
        seedsRun += 1
        if !result.passed { failures.append(result) }
        simulatedMillis += result.simulatedMillis
        messages += result.network.sent
        writesAcknowledged += result.writesAcknowledged
        driftRejections += result.driftRejections
        if let millis = result.convergenceMillis { convergenceMillis.append(millis) }
    }

    /// The nearest-rank percentile `p` (0–100) of the convergence times, or `nil` if none.
    public func convergencePercentile(_ p: Double) -> UInt64? {
        guard !convergenceMillis.isEmpty else { return nil }
        let sorted = convergenceMillis.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    /// One line: seeds, failures, simulated time, messages, writes and convergence percentiles.
    public var line: String {
        func seconds(_ millis: UInt64?) -> String {
            guard let millis else { return "-" }
            return Self.format(Double(millis) / 1000, decimals: 1) + "s"
        }
        let status = failures.isEmpty ? "ok" : "FAILED \(failures.count)/\(seedsRun)"
        return "\(scenario): \(status), \(seedsRun) seeds, simulated \(Self.format(Double(simulatedMillis) / 3_600_000, decimals: 2)) h, "
            + "\(messages) messages, \(writesAcknowledged) writes, "
            + "convergence p50 \(seconds(convergencePercentile(50))) p90 \(seconds(convergencePercentile(90))) "
            + "p99 \(seconds(convergencePercentile(99))) max \(seconds(convergenceMillis.max())), wall \(Self.format(wallSeconds, decimals: 1)) s"
    }

    /// `value` with a fixed number of decimals (no Foundation formatting).
    public static func format(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((value * scale).rounded())
        let whole = scaled / Int64(scale)
        let fraction = abs(scaled % Int64(scale))
        guard decimals > 0 else { return String(whole) }
        let digits = String(fraction)
        return "\(scaled < 0 && whole == 0 ? "-" : "")\(whole).\(String(repeating: "0", count: decimals - digits.count))\(digits)"
    }
}
