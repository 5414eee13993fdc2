import ArgumentParser
import Foundation
import StoaSimulator

/// `stoa sim`: the deterministic simulator (see simulations/README.md).
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the deterministic cluster simulator.",
        subcommands: [Run.self]
    )

    /// `stoa sim run FILE... [--seeds N | --seed S]`: runs every scenario over the seeds, prints
    /// a line per scenario and a summary; on a failure prints the seed and the command that
    /// replays it, and exits non-zero.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run scenario files over seeds; exit 0 only when every invariant held."
        )

        @Argument(help: "Scenario files (JSON, see simulations/README.md).")
        var files: [String]

        @Option(help: "Run seeds 1...N (default: each scenario's suiteSeeds).")
        var seeds: Int?

        @Option(help: "Run this one seed (replay).")
        var seed: UInt64?

        @Option(help: "With --seeds N: run seeds S...S+N-1 instead of 1...N.")
        var fromSeed: UInt64 = 1

        @Option(name: .customLong("inject-flipped-tie-break"), help: "Fault injection: NODE merges remote changes with the LWW tie-break reversed.")
        var flippedTieBreak: String?

        @Flag(help: "Print every run's trace (best with --seed).")
        var trace = false

        @Flag(help: "Print every run's trace hash (`SCENARIO seed=S trace=HASH`), to compare runs across processes.")
        var hashes = false

        func validate() throws {
            if seeds != nil, seed != nil { throw ValidationError("--seeds and --seed exclude each other") }
            if let seeds, seeds < 1 { throw ValidationError("--seeds must be at least 1") }
            if let seeds, fromSeed > UInt64.max - UInt64(seeds) { throw ValidationError("--from-seed is too large") }
            if seed != nil, fromSeed != 1 { throw ValidationError("--from-seed goes with --seeds, not --seed") }
        }

        func run() async throws {
            let options = SimulationOptions(flippedTieBreakNode: flippedTieBreak, keepTrace: trace)
            var summaries: [ScenarioSummary] = []
            var failed: [(file: String, result: SimulationResult)] = []
            for file in files {
                let scenario = try Scenario.load(path: file)
                let count = UInt64(seeds ?? scenario.suiteSeeds)
                guard seed != nil || fromSeed <= UInt64.max - count else { throw ValidationError("--from-seed is too large") }
                let list: [UInt64] = seed.map { [$0] } ?? (fromSeed...(fromSeed + count - 1)).map { $0 }
                let summary = try await ScenarioRunner.run(scenario, seeds: list, options: options) { result in
                    if let lines = result.trace {
                        Self.write(lines.map { "[\(result.scenario) seed=\(result.seed)] \($0)" }.joined(separator: "\n") + "\n")
                    }
                    if hashes { Self.write("\(result.scenario) seed=\(result.seed) trace=\(result.traceHash)\n") }
                    guard !result.passed else { return }
                    failed.append((file, result))
                    var text = "FAIL \(result.scenario) seed=\(result.seed) (trace \(result.traceHash)):\n"
                    for violation in result.violations.prefix(10) { text += "  - \(violation)\n" }
                    if result.violations.count > 10 { text += "  - ... \(result.violations.count - 10) more\n" }
                    text += "  replay: \(ScenarioRunner.replayCommand(file: file, seed: result.seed, options: options))\n"
                    Self.write(text)
                }
                summaries.append(summary)
                Self.write(summary.line + "\n")
            }
            let seedsRun = summaries.reduce(0) { $0 + $1.seedsRun }
            let hours = Double(summaries.reduce(UInt64(0)) { $0 + $1.simulatedMillis }) / 3_600_000
            let messages = summaries.reduce(0) { $0 + $1.messages }
            let wall = summaries.reduce(0.0) { $0 + $1.wallSeconds }
            var all = ScenarioSummary(scenario: "all")
            all.convergenceMillis = summaries.flatMap(\.convergenceMillis)
            let p = { (q: Double) in all.convergencePercentile(q).map { ScenarioSummary.format(Double($0) / 1000, decimals: 1) + "s" } ?? "-" }
            Self.write(
                "summary: \(summaries.count) scenarios, \(seedsRun) seeds, \(failed.count) failed, simulated "
                    + "\(ScenarioSummary.format(hours, decimals: 2)) h, \(messages) messages, convergence p50 \(p(50)) p90 \(p(90)) "
                    + "p99 \(p(99)), wall \(ScenarioSummary.format(wall, decimals: 1)) s\n"
            )
            if !failed.isEmpty {
                Self.write("replay the failures with:\n")
                for (file, result) in failed {
                    Self.write("  \(ScenarioRunner.replayCommand(file: file, seed: result.seed, options: options))\n")
                }
                throw ExitCode(1)
            }
        }

        /// Unbuffered, so progress shows at once when piped.
        static func write(_ text: String) {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
