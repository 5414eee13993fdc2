import Foundation
import Testing
import StoaSimulator

/// The default suite: every scenario in `simulations/` over seeds `1...suiteSeeds` (at least
/// 50 each), in chunks of five seeds so the chunks spread over the cores. Bounded by seed count,
/// never by wall time.
@Suite("Scenarios over their suite seeds")
struct ScenarioSuiteTests {
    /// Five consecutive seeds of one scenario.
    struct Chunk: Sendable, CustomTestStringConvertible {
        var file: String
        var seeds: ClosedRange<UInt64>

        var testDescription: String {
            "\(file.split(separator: "/").last.map(String.init) ?? file) seeds \(seeds.lowerBound)...\(seeds.upperBound)"
        }
    }

    static let chunkSize: UInt64 = 5

    static let chunks: [Chunk] = SimulationFiles.scenarios.flatMap { file -> [Chunk] in
        // A file that does not load yields no chunk here; ScenarioFileTests reports it.
        guard let scenario = try? Scenario.load(path: file) else { return [] }
        let count = UInt64(scenario.suiteSeeds)
        return stride(from: UInt64(1), through: count, by: Int(chunkSize)).map { start in
            Chunk(file: file, seeds: start...min(count, start + chunkSize - 1))
        }
    }

    /// Runs the chunk's seeds in a `stoa sim run` child process (see ``StoaProcess``), at
    /// most one child per core at a time.
    @Test("every invariant holds", arguments: chunks)
    func invariantsHold(_ chunk: Chunk) async throws {
        let arguments = [
            "sim", "run", chunk.file, "--seeds", String(chunk.seeds.count), "--from-seed", String(chunk.seeds.lowerBound),
        ]
        let outcome = try await RunLimiter.shared.run { try await StoaProcess.run(arguments) }
        let lines = outcome.output.split(separator: "\n").map(String.init)
        if outcome.status != 0 {
            Issue.record("stoa \(arguments.joined(separator: " ")) exited \(outcome.status):\n\(outcome.output)")
        }
        let summary = lines.first { $0.contains(": ok, ") || $0.contains(": FAILED ") }
        #expect(summary?.contains(": ok, \(chunk.seeds.count) seeds") == true, "\(outcome.output)")
        print("[sim] \(summary ?? "no summary") [seeds \(chunk.seeds.lowerBound)...\(chunk.seeds.upperBound)]")
    }

    @Test("the suite runs at least 50 seeds of every scenario")
    func enoughSeeds() throws {
        let files = SimulationFiles.scenarios
        #expect(files.count >= 6)
        for file in files {
            let scenario = try Scenario.load(path: file)
            #expect(scenario.suiteSeeds >= 50, "\(scenario.name)")
        }
    }
}
