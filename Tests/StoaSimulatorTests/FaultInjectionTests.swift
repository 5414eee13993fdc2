import StoaCore
import Testing
@testable import StoaSimulator

/// The simulator must catch a broken merge: one node merges remote changes with the LWW
/// tie-break reversed (``FlippedTieBreakMerge``), everything else is correct.
@Suite("A deliberately broken merge is caught")
struct FaultInjectionTests {
    @Test("with the tie-break flipped on n2, every seed of tie-break.json fails the invariants")
    func flippedTieBreakCaught() async throws {
        let scenario = try SimulationFiles.scenario("tie-break.json")
        let options = SimulationOptions(flippedTieBreakNode: "n2")
        for seed: UInt64 in 1...10 {
            let result = try await RunLimiter.shared.run { try await Simulation(scenario: scenario, seed: seed, options: options).run() }
            #expect(!result.passed, "seed \(seed): the broken merge went unnoticed")
            #expect(result.violations.contains { $0.hasPrefix("digests differ") }, "seed \(seed)")
            #expect(result.violations.contains { $0.hasPrefix("n2: quote") && $0.contains("reference model") }, "seed \(seed)")
            #expect(result.violations.contains { $0.hasPrefix("n2 lost") }, "seed \(seed)")
            // The correct nodes agree with the model: only n2 is blamed.
            #expect(!result.violations.contains { $0.hasPrefix("n1") || $0.hasPrefix("n3") }, "seed \(seed)")
        }
    }

    @Test("the same seed passes without the injected fault")
    func correctMergePasses() async throws {
        let scenario = try SimulationFiles.scenario("tie-break.json")
        for seed: UInt64 in 1...1 {
            let result = try await RunLimiter.shared.run { try await Simulation(scenario: scenario, seed: seed).run() }
            #expect(result.passed, "seed \(seed): \(result.violations)")
        }
    }

    @Test("stoa sim run prints the failing seed and the command that replays it, and exits 1")
    func commandReportsFailure() async throws {
        let file = SimulationFiles.path("tie-break.json")
        let outcome = try await RunLimiter.shared.run {
            try await StoaProcess.run(["sim", "run", file, "--seed", "3", "--inject-flipped-tie-break", "n2"])
        }
        #expect(outcome.status == 1)
        #expect(outcome.output.contains("FAIL tie-break seed=3"), "\(outcome.output)")
        #expect(outcome.output.contains("replay: stoa sim run \(file) --seed 3 --inject-flipped-tie-break n2"), "\(outcome.output)")
        #expect(outcome.output.contains("summary: 1 scenarios, 1 seeds, 1 failed"), "\(outcome.output)")
    }

    @Test("the flipped merge differs from the real one exactly on HLC ties")
    func flippedMergeDiffersOnTies() {
        let hlc = HLCTimestamp(millis: 1000, counter: 0)
        let mine = RecordState(fields: ["content": LWWRegister(value: .string("from n3"), stamp: Stamp(hlc: hlc, node: "n3"))])
        let tie = RecordState(fields: ["content": LWWRegister(value: .string("from n1"), stamp: Stamp(hlc: hlc, node: "n1"))])
        #expect(mine.merged(tie)["content"] == .string("from n3"))
        #expect(FlippedTieBreakMerge.merge(mine, tie)["content"] == .string("from n1"))
        let later = RecordState(
            fields: ["content": LWWRegister(value: .string("later"), stamp: Stamp(hlc: HLCTimestamp(millis: 1001, counter: 0), node: "n1"))],
            tags: AddWinsSet.addDelta("stoic", stamp: Stamp(hlc: hlc, node: "n1")), length: .created,
            lengthStamp: Stamp(hlc: hlc, node: "n1"), touched: Stamp(hlc: HLCTimestamp(millis: 1001, counter: 0), node: "n1")
        )
        #expect(FlippedTieBreakMerge.merge(mine, later) == mine.merged(later))
    }
}
