import StoaCore
import StoaGossip
import StoaStore

/// One node of a simulated cluster: its store (which survives crashes), its clocks, and the
/// in-memory protocol state a crash loses — the SWIM instance, the replication machine and
/// the name-to-member map the shell keeps.
final class SimulatedNode {
    let index: Int
    let name: String
    let id: MemberID
    let seeds: [MemberAddress]
    let clock: SimulatedClock
    /// Kept across crashes, like the data folder of a real node.
    let database: StoaDatabase
    let commits: LocalCommitBuffer
    /// The merge used for remote changes; `nil` for the store's own (only fault injection
    /// sets another).
    let merge: (@Sendable (RecordState, RecordState) -> RecordState)?
    let swimConfiguration: SWIMConfiguration
    let replicationConfiguration: ReplicationConfiguration

    private(set) var swim: SWIMInstance
    private(set) var replication: ReplicationMachine
    /// Node name to member id, learned from `statusChanged` (the shell's `memberIDs`).
    var memberIDs: [String: MemberID] = [:]
    /// Pulls (our vector sent) still streaming back, by peer, with the monotonic time they
    /// started (as `ClusterNode.pulls`).
    var pulls: [String: UInt64] = [:]
    /// The node's protocol randomness (SWIM probe order, anti-entropy peer choice).
    var rng: SplitMix64
    private(set) var up = true
    /// Bumped at every crash and restart: timers scheduled in an earlier life are ignored.
    private(set) var epoch = 0
    var counters = NodeCounters()

    init(
        index: Int, name: String, id: MemberID, seeds: [MemberAddress], clock: SimulatedClock, database: StoaDatabase,
        merge: (@Sendable (RecordState, RecordState) -> RecordState)?, rng: SplitMix64,
        swimConfiguration: SWIMConfiguration = .init(), replicationConfiguration: ReplicationConfiguration = .init()
    ) {
        self.index = index
        self.name = name
        self.id = id
        self.seeds = seeds
        self.clock = clock
        self.database = database
        self.merge = merge
        self.rng = rng
        self.swimConfiguration = swimConfiguration
        self.replicationConfiguration = replicationConfiguration
        self.commits = LocalCommitBuffer()
        swim = Self.freshSWIM(id: id, name: name, seeds: seeds, configuration: swimConfiguration)
        replication = ReplicationMachine(myself: name, configuration: replicationConfiguration)
        let commits = self.commits
        database.onCommit { change in
            if change.isLocal { commits.append(change.seq) }
        }
    }

    private static func freshSWIM(id: MemberID, name: String, seeds: [MemberAddress], configuration: SWIMConfiguration) -> SWIMInstance {
        SWIMInstance(myself: id, meta: "http://\(name):8090", configuration: configuration, seeds: seeds)
    }

    /// The node's monotonic milliseconds: the `now` of its protocol machines.
    var now: UInt64 { clock.monotonicMillis }

    // MARK: - Driving the machines

    func swimTick() -> [SWIMDirective] {
        var generator = rng
        defer { rng = generator }
        return swim.onTick(now: now, rng: &generator)
    }

    func swimMessage(_ envelope: SWIMEnvelope) -> [SWIMDirective] {
        var generator = rng
        defer { rng = generator }
        return swim.onMessage(envelope, now: now, rng: &generator)
    }

    func replicationTick() -> [ReplicationDirective] {
        var generator = rng
        defer { rng = generator }
        return replication.onTick(now: now, rng: &generator)
    }

    func peerStatus(_ peer: String, alive: Bool) -> [ReplicationDirective] {
        replication.onPeerStatus(peer, alive: alive, now: now)
    }

    func peerVector(_ peer: String, vector: VersionVector) {
        replication.onPeerVector(peer, vector: vector, now: now)
    }

    func localCommit(seq: UInt64) -> [ReplicationDirective] {
        replication.onLocalCommit(seq: seq)
    }

    // MARK: - Crash and restart

    /// The process dies: protocol state is gone (the next restart starts it afresh); the
    /// store and its data stay.
    func crash() {
        up = false
        epoch += 1
        counters.crashes += 1
        _ = commits.drain()
    }

    /// The process starts again: a fresh SWIM instance at incarnation 0 and a fresh
    /// replication machine over the kept store.
    func restart() {
        swim = Self.freshSWIM(id: id, name: name, seeds: seeds, configuration: swimConfiguration)
        replication = ReplicationMachine(myself: name, configuration: replicationConfiguration)
        memberIDs = [:]
        pulls = [:]
        up = true
        epoch += 1
    }
}
