import StoaCore
import Testing
@testable import StoaGossip

/// Issue 13's protocol parts: what may leave the log, state transfers, graceful leave.
@Suite("Bounded history: replication machine, state transfers, leaving")
struct HistoryMachineTests {
    func vector(_ marks: [String: UInt64]) -> VersionVector {
        VersionVector(entries: marks.mapValues { VersionVector.Entry(contiguous: $0) })
    }

    @Test("the stable point is the smallest contiguous mark among us and every member that still counts")
    func stablePoint() {
        var machine = ReplicationMachine(myself: "n1")
        let own = vector(["a": 10, "b": 5])
        #expect(machine.stablePoint(own: own, now: 0) == own, "alone, everything we hold is stable")
        _ = machine.onPeerStatus("n2", alive: true, now: 0)
        #expect(machine.stablePoint(own: own, now: 0) == nil, "a member that never reported holds everything back")
        machine.onPeerVector("n2", vector: vector(["a": 7, "b": 9, "c": 3]), now: 0)
        #expect(machine.stablePoint(own: own, now: 0) == vector(["a": 7, "b": 5]))
        _ = machine.onPeerStatus("n3", alive: true, now: 0)
        machine.onPeerVector("n3", vector: vector(["a": 2]), now: 0)
        #expect(machine.stablePoint(own: own, now: 0) == vector(["a": 2]))

        // Dead: still counts within the horizon, no longer after it.
        _ = machine.onPeerStatus("n3", alive: false, now: 1000)
        let horizon = machine.configuration.deadMemberHorizonMillis
        #expect(machine.stablePoint(own: own, now: 1000 + horizon - 1) == vector(["a": 2]))
        #expect(machine.stablePoint(own: own, now: 1000 + horizon) == vector(["a": 7, "b": 5]))
        #expect(machine.pinningPeers(now: 1000 + horizon) == ["n2"])
        // Back: it counts again.
        _ = machine.onPeerStatus("n3", alive: true, now: 1000 + horizon + 5)
        #expect(machine.stablePoint(own: own, now: 1000 + horizon + 5) == vector(["a": 2]))
        // Left: it stops counting at once.
        machine.onPeerLeft("n3", now: 1000 + horizon + 6)
        #expect(machine.stablePoint(own: own, now: 1000 + horizon + 6) == vector(["a": 7, "b": 5]))
        #expect(machine.hasLeft("n3") && !machine.livePeers.contains("n3"))
    }

    @Test("compaction is due every interval")
    func compactionTicks() {
        var configuration = ReplicationConfiguration()
        configuration.compactionIntervalMillis = 1000
        var machine = ReplicationMachine(myself: "n1", configuration: configuration)
        var rng = SplitMix64(seed: 1)
        var due: [UInt64] = []
        var now: UInt64 = 0
        while now <= 5000 {
            if machine.onTick(now: now, rng: &rng).contains(.compact) { due.append(now) }
            now += 100
        }
        #expect(due == [1000, 2000, 3000, 4000, 5000])
    }

    @Test("before leaving, the peers still lacking our changes are named")
    func peersLacking() {
        var machine = ReplicationMachine(myself: "n1")
        for peer in ["n2", "n3", "n4"] { _ = machine.onPeerStatus(peer, alive: true, now: 0) }
        machine.onPeerVector("n2", vector: vector(["n1~x": 5]), now: 0)
        machine.onPeerVector("n3", vector: vector(["n1~x": 3]), now: 0)
        machine.onPeerLeft("n4", now: 0)
        #expect(machine.peersLacking(origin: "n1~x", through: 5) == ["n3"])
        #expect(machine.peersLacking(origin: "n1~x", through: 0).isEmpty)
    }

    func batch(_ index: UInt64, last: Bool = false, id: UInt64 = 1, floor: VersionVector? = nil) -> SnapshotBatch {
        SnapshotBatch(id: id, index: index, isLast: last, floor: floor ?? vector(["a": 10]), records: [])
    }

    @Test("a transfer completes once, when every batch 0...last arrived, in any order and with duplicates")
    func assembly() {
        var assembly = StateTransferAssembly()
        #expect(assembly.merged(batch(2, last: true), from: "n2", now: 0) == nil)
        #expect(assembly.merged(batch(0), from: "n2", now: 1) == nil)
        #expect(assembly.merged(batch(0), from: "n2", now: 2) == nil)
        #expect(assembly.merged(batch(1), from: "n3", now: 2) == nil, "another sender's batch is another transfer")
        #expect(assembly.merged(batch(1, id: 2), from: "n2", now: 2) == nil, "another transfer of the same sender")
        #expect(assembly.merged(batch(1), from: "n2", now: 3) == vector(["a": 10]))
        #expect(assembly.merged(batch(1), from: "n2", now: 4) == nil, "completed once")
        // A batch claiming another floor under the same number is not part of that transfer.
        #expect(assembly.merged(batch(0, last: true, id: 7, floor: vector(["a": 1])), from: "n4", now: 5) == vector(["a": 1]))
        var other = StateTransferAssembly()
        _ = other.merged(batch(0, id: 9), from: "n2", now: 0)
        #expect(other.merged(batch(1, last: true, id: 9, floor: vector(["a": 99])), from: "n2", now: 1) == nil)
        // Unfinished transfers are forgotten after the timeout.
        _ = other.merged(batch(0, id: 5), from: "n5", now: 10)
        _ = other.merged(batch(0, id: 6), from: "n6", now: 10 + StateTransferAssembly.timeoutMillis)
        #expect(other.inProgress == 1)
    }

    @Test("a member that leaves is marked left by everyone at once, never suspected; started again it rejoins", arguments: [UInt64(1), 2, 3])
    func gracefulLeave(seed: UInt64) {
        var network = SWIMTestNetwork(names: ["n1", "n2", "n3", "n4"], seed: seed)
        network.run(for: 4000)
        #expect(network.allRunningAgreeAlive)
        network.leave("n3")
        let took = network.run(upTo: 2000) { $0.everyoneSees("n3", as: .left) }
        #expect(took != nil && (took ?? .max) <= 100)
        network.run(for: 5000)
        #expect(network.everyoneSees("n3", as: .left) || ["n1", "n2", "n4"].allSatisfy { network.status(of: "n3", seenBy: $0) == nil })
        #expect(!network.events.contains { $0.subject == "n3" && ($0.to == .suspect || $0.to == .dead) })
        network.restart("n3")
        #expect(network.run(upTo: 10_000) { $0.allRunningAgreeAlive } != nil)
    }
}
