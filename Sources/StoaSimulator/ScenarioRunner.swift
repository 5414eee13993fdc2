/// Runs scenarios over seeds, one run after the other, and aggregates the results; used by
/// `stoa sim run` and by the test suite.
public enum ScenarioRunner {
    /// Runs `scenario` once per seed.
    ///
    /// - Parameter onResult: called after every run (progress, early reporting).
    public static func run(
        _ scenario: Scenario, seeds: [UInt64], options: SimulationOptions = .init(),
        onResult: (SimulationResult) -> Void = { _ in }
    ) async throws -> ScenarioSummary {
        var summary = ScenarioSummary(scenario: scenario.name)
        let clock = ContinuousClock()
        let start = clock.now
        for seed in seeds {
            let result = try await Simulation(scenario: scenario, seed: seed, options: options).run()
            summary.add(result)
            onResult(result)
        }
        let elapsed = clock.now - start
        summary.wallSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return summary
    }

    /// The command that replays one run.
    public static func replayCommand(file: String, seed: UInt64, options: SimulationOptions = .init()) -> String {
        var command = "stoa sim run \(file) --seed \(seed)"
        if let node = options.flippedTieBreakNode { command += " --inject-flipped-tie-break \(node)" }
        return command
    }
}
