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
    /// As the shell's: peers streaming a state transfer to this node, with their last batch's time.
    var transferring: [String: UInt64] = [:]
    /// State transfers being received, and the number of the next one sent (as the shell's).
    var transfers = StateTransferAssembly()
    var nextSnapshotID: UInt64 = 1
    /// The node's protocol randomness (SWIM probe order, anti-entropy peer choice).
    var rng: SplitMix64
    private(set) var up = true
    /// Leaving gracefully: refusing writes while its own changes reach the others, until
    /// ``leaveDeadline`` at the latest. ``hasLeft`` once it announced it and stopped for good.
    private(set) var leaving = false
    private(set) var leaveDeadline: UInt64 = 0
    var nextLeaveStepAt: UInt64 = 0
    private(set) var hasLeft = false
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
            if change.isLocal { commits.append(change) }
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

    func peerLeft(_ peer: String) {
        replication.onPeerLeft(peer, now: now)
    }

    func localCommit(seq: UInt64) -> [ReplicationDirective] {
        replication.onLocalCommit(seq: seq)
    }

    // MARK: - Joining late, leaving

    /// A node that has never run yet (it joins later): down, with an empty database.
    func notStarted() {
        up = false
        epoch += 1
    }

    /// Starts leaving: writes are refused from now on; the simulation drives the drain.
    func startLeaving(deadline: UInt64) {
        leaving = true
        leaveDeadline = deadline
    }

    /// Announces the leave (the `left` claim to every member) and stops for good.
    func leave() -> [SWIMDirective] {
        let directives = swim.leave()
        leaving = false
        hasLeft = true
        up = false
        epoch += 1
        _ = commits.drain()
        return directives
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
        transferring = [:]
        transfers = StateTransferAssembly()
        // Transfer numbers are new in every life (a receiver may still hold an unfinished one).
        nextSnapshotID = UInt64(epoch + 1) << 32
        up = true
        epoch += 1
    }
}
