import StoaCore
import Testing
@testable import StoaGossip

@Suite("Replication machine")
struct ReplicationMachineTests {
    @Test("a local commit is pushed at once to every live peer")
    func pushOnCommit() {
        var machine = ReplicationMachine(myself: "n1")
        #expect(machine.onLocalCommit(seq: 1).isEmpty)  // nobody to push to yet
        _ = machine.onPeerStatus("n3", alive: true, now: 0)
        _ = machine.onPeerStatus("n2", alive: true, now: 0)
        _ = machine.onPeerStatus("n4", alive: true, now: 0)
        _ = machine.onPeerStatus("n4", alive: false, now: 5)
        #expect(machine.livePeers == ["n2", "n3"])
        #expect(machine.onLocalCommit(seq: 7) == [.push(seqs: 7...7, to: ["n2", "n3"])])
    }

    @Test("runs of commits are pushed in batches of at most maxBatch")
    func pushBatches() {
        var configuration = ReplicationConfiguration()
        configuration.maxBatch = 10
        var machine = ReplicationMachine(myself: "n1", configuration: configuration)
        _ = machine.onPeerStatus("n2", alive: true, now: 0)
        #expect(machine.onLocalCommit(seqs: 1...25) == [
            .push(seqs: 1...10, to: ["n2"]), .push(seqs: 11...20, to: ["n2"]), .push(seqs: 21...25, to: ["n2"]),
        ])
        #expect(machine.onLocalCommit(seqs: (UInt64.max - 3)...UInt64.max) == [.push(seqs: (UInt64.max - 3)...UInt64.max, to: ["n2"])])
    }

    @Test("a peer that becomes alive gets an immediate anti-entropy round")
    func antiEntropyOnAlive() {
        var machine = ReplicationMachine(myself: "n1")
        #expect(machine.onPeerStatus("n2", alive: true, now: 0) == [.antiEntropy(with: "n2")])
        #expect(machine.onPeerStatus("n2", alive: true, now: 10).isEmpty)
        #expect(machine.onPeerStatus("n2", alive: false, now: 20).isEmpty)
        #expect(machine.onPeerStatus("n2", alive: true, now: 30) == [.antiEntropy(with: "n2")])
        #expect(machine.onPeerStatus("n1", alive: true, now: 40).isEmpty)  // ourselves
        #expect(machine.onPeerStatus("n5", alive: false, now: 50).isEmpty)
        #expect(machine.livePeers == ["n2"])
        #expect(machine.knownPeers == ["n2", "n5"])
    }

    @Test("periodic anti-entropy runs every interval with a random live peer only")
    func periodicAntiEntropy() {
        var machine = ReplicationMachine(myself: "n1")
        var rng = SplitMix64(seed: 1)
        #expect(machine.onTick(now: 0, rng: &rng).isEmpty)  // starts the timer; nobody alive anyway
        _ = machine.onPeerStatus("n2", alive: true, now: 0)
        _ = machine.onPeerStatus("n3", alive: true, now: 0)
        _ = machine.onPeerStatus("n4", alive: true, now: 0)
        _ = machine.onPeerStatus("n4", alive: false, now: 0)
        var chosen: [UInt64: String] = [:]
        var now: UInt64 = 0
        while now < 200_000 {
            now += 100
            for directive in machine.onTick(now: now, rng: &rng) where directive != .compact {
                guard case .antiEntropy(let peer) = directive else {
                    Issue.record("unexpected \(directive)")
                    continue
                }
                chosen[now] = peer
            }
        }
        #expect(chosen.count == 100)
        #expect(chosen.keys.allSatisfy { $0 % 2000 == 0 })
        #expect(Set(chosen.values) == ["n2", "n3"])
        // Nobody alive: no round.
        _ = machine.onPeerStatus("n2", alive: false, now: now)
        _ = machine.onPeerStatus("n3", alive: false, now: now)
        #expect(machine.onTick(now: now + 2000, rng: &rng).isEmpty)
    }

    @Test("lag counts my changes the peer is known to lack")
    func lag() {
        var machine = ReplicationMachine(myself: "n1")
        #expect(machine.lag(of: "n2", localMaxSeq: 10) == nil)
        machine.onPeerVector("n2", vector: VersionVector(entries: ["n3": .init(contiguous: 4)]), now: 1)
        #expect(machine.lag(of: "n2", localMaxSeq: 10) == 10)
        machine.onPeerVector("n2", vector: VersionVector(entries: ["n1": .init(contiguous: 5, extra: [7, 9, 30])]), now: 2)
        #expect(machine.lag(of: "n2", localMaxSeq: 10) == 3)  // lacks 6, 8, 10
        #expect(machine.lag(of: "n2", localMaxSeq: 4) == 0)
        #expect(machine.lag(of: "n2", localMaxSeq: 0) == 0)
        // A late, older report does not lower what we know.
        machine.onPeerVector("n2", vector: VersionVector(entries: ["n1": .init(contiguous: 2)]), now: 3)
        #expect(machine.lag(of: "n2", localMaxSeq: 10) == 3)
        #expect(machine.lastHeard(from: "n2") == 3)
        #expect(machine.vector(of: "n2")?.contains(origin: "n3", seq: 4) == true)
        machine.onPeerVector("n2", vector: VersionVector(entries: ["n1": .init(contiguous: 10)]), now: 4)
        #expect(machine.lag(of: "n2", localMaxSeq: 10) == 0)
        #expect(machine.lag(of: "n2", localMaxSeq: .max) == UInt64.max - 10 - 1)  // holds 1...10 and 30
    }
}
