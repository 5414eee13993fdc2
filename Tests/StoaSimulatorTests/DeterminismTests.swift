import Foundation
import StoaCore
import Testing
@testable import StoaSimulator

@Suite("Replay by seed")
struct DeterminismTests {
    @Test("the same scenario and seed give the same trace; another seed another", arguments: ["crash-restart.json", "asymmetric-partition.json", "clock-ahead.json"])
    func sameSeedSameTrace(_ name: String) async throws {
        let scenario = try SimulationFiles.scenario(name)
        let first = try await RunLimiter.shared.run { try await Simulation(scenario: scenario, seed: 42).run() }
        let second = try await RunLimiter.shared.run { try await Simulation(scenario: scenario, seed: 42).run() }
        let other = try await RunLimiter.shared.run { try await Simulation(scenario: scenario, seed: 43).run() }
        #expect(first.traceHash == second.traceHash)
        #expect(first.traceLines == second.traceLines)
        #expect(first.network == second.network)
        #expect(first.convergenceMillis == second.convergenceMillis)
        #expect(first.writesAcknowledged == second.writesAcknowledged)
        #expect(other.traceHash != first.traceHash)
        #expect(first.passed && second.passed && other.passed)
    }

    /// Swift seeds `Hasher` per process, so Dictionary and Set order differ between processes:
    /// only a run in another process shows that no such order leaks into the trace.
    @Test("a run in two other processes gives the trace hash of this process")
    func sameTraceAcrossProcesses() async throws {
        let binary = SimulationFiles.binary
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build the stoa executable first")
        let name = "three-way-split.json"
        let scenario = try SimulationFiles.scenario(name)
        let inProcess = try await RunLimiter.shared.run { try await Simulation(scenario: scenario, seed: 5).run() }
        for _ in 0..<2 {
            let outcome = try await StoaProcess.run(["sim", "run", SimulationFiles.path(name), "--seed", "5", "--hashes"])
            #expect(outcome.status == 0)
            #expect(outcome.output.contains("three-way-split seed=5 trace=\(inProcess.traceHash)"), "\(outcome.output)")
        }
    }

    @Test("seed derivation: each purpose has its own stream, stable across calls")
    func derivation() {
        var a = SeedDerivation.generator(seed: 7, purpose: "network n1>n2")
        var b = SeedDerivation.generator(seed: 7, purpose: "network n1>n2")
        var c = SeedDerivation.generator(seed: 7, purpose: "network n2>n1")
        var d = SeedDerivation.generator(seed: 8, purpose: "network n1>n2")
        let first = (0..<4).map { _ in a.next() }
        #expect(first == (0..<4).map { _ in b.next() })
        #expect(first != (0..<4).map { _ in c.next() })
        #expect(first != (0..<4).map { _ in d.next() })
    }

    @Test("adding a node and traffic on other links leaves a link's message fates unchanged")
    func linkStreamsIndependent() {
        var faults = FaultModel()
        faults.loss = 0.3
        faults.duplicate = 0.2
        faults.reorder = 0.2
        faults.delay = .exponential(min: 1, mean: 10, max: 500)
        var small = SimulatedNetwork(faults: faults, names: ["n1", "n2"], seed: 99)
        var large = SimulatedNetwork(faults: faults, names: ["n1", "n2", "n3"], seed: 99)
        var fatesSmall: [SimulatedNetwork.Fate] = []
        var fatesLarge: [SimulatedNetwork.Fate] = []
        for round in 0..<200 {
            fatesSmall.append(small.transmit(from: 0, to: 1, byteCount: 10))
            if round % 3 == 0 { _ = large.transmit(from: 2, to: 1, byteCount: 10) }
            fatesLarge.append(large.transmit(from: 0, to: 1, byteCount: 10))
            if round % 2 == 0 { _ = large.transmit(from: 1, to: 0, byteCount: 10) }
        }
        #expect(fatesSmall == fatesLarge)
        #expect(fatesSmall.contains(.lost))
        #expect(fatesSmall.contains { if case .delivered(let delays) = $0 { return delays.count == 2 } else { return false } })
    }

    @Test("FNV-1a matches reference values (computed independently)")
    func fnv() {
        #expect(FNV1a().value == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a") == 0x089b_dc07_b544_e7b2)  // FNV-1a 64 of "a\n"
        #expect(FNV1a.hash("foobar") == 0x3453_16a7_168b_8506)  // of "foobar\n"
        var hasher = FNV1a()
        hasher.combine(line: "a")
        #expect(hasher.hex == "089bdc07b544e7b2")
    }
}
