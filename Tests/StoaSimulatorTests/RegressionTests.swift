import Testing
import StoaSimulator

/// Replays every seed in `simulations/regressions/` (seeds that once failed).
@Suite("Regression seeds")
struct RegressionTests {
    static let entries: [RegressionSeed] = (try? RegressionSeed.load(directory: SimulationFiles.path("regressions"))) ?? []

    @Test("the regressions files parse and name existing scenarios")
    func filesParse() throws {
        let entries = try RegressionSeed.load(directory: SimulationFiles.path("regressions"))
        #expect(!entries.isEmpty)
        for entry in entries {
            _ = try SimulationFiles.scenario(entry.scenarioFile)
        }
    }

    @Test("every regression seed passes", arguments: entries)
    func replay(_ entry: RegressionSeed) async throws {
        let scenario = try SimulationFiles.scenario(entry.scenarioFile)
        let result = try await RunLimiter.shared.run { try await Simulation(scenario: scenario, seed: entry.seed).run() }
        #expect(result.passed, "\(entry.scenarioFile) seed \(entry.seed) (\(entry.note)): \(result.violations.prefix(5))")
    }

    @Test("the format: `SCENARIO SEED # note`, comments and blank lines")
    func format() throws {
        let text = """
            # seeds that once failed
            minority-partition.json 17  # lost write after heal

            crash-restart.json 4
            """
        let entries = try RegressionSeed.parse(text)
        #expect(entries == [
            RegressionSeed(scenarioFile: "minority-partition.json", seed: 17, note: "lost write after heal"),
            RegressionSeed(scenarioFile: "crash-restart.json", seed: 4),
        ])
        #expect(throws: ScenarioError.self) { try RegressionSeed.parse("minority-partition.json seventeen") }
    }
}
