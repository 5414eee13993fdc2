import StoaCore

/// Schedules replication (DESIGN.md, "Spread") as a pure state machine: a committed write is
/// pushed at once to every live peer; anti-entropy runs periodically with one random live
/// peer, and at once with a peer that (re)appears, to repair whatever pushes missed.
///
/// It knows peers by node name, learns liveness from membership (``onPeerStatus(_:alive:now:)``,
/// ``onPeerLeft(_:now:)``) and what peers hold from the version vectors they report
/// (``onPeerVector(_:vector:now:)``), and from those decides what may leave the log
/// (``stablePoint(own:now:)``, asked for every ``ReplicationConfiguration/compactionIntervalMillis``
/// with a ``ReplicationDirective/compact`` directive). Like ``SWIMInstance`` it does no I/O and
/// takes time and randomness as arguments.
public struct ReplicationMachine: Sendable {
    /// What we know about one peer.
    struct Peer: Sendable, Hashable {
        var alive = false
        /// The union of the vectors it reported, `nil` before the first.
        var vector: VersionVector?
        var heardAt: UInt64?
        /// Since when it is not alive (`nil` while alive or never seen alive).
        var downSince: UInt64?
        /// It left the cluster for good: it no longer holds compaction back.
        var left = false
    }

    /// The local node's name (the origin of its changes).
    public let myself: String
    public let configuration: ReplicationConfiguration
    var peers: [String: Peer] = [:]
    /// When periodic anti-entropy runs next (`nil` before the first tick).
    var nextAntiEntropyAt: UInt64?
    /// When the log is compacted next (`nil` before the first tick).
    var nextCompactionAt: UInt64?

    public init(myself: String, configuration: ReplicationConfiguration = .init()) {
        self.myself = myself
        self.configuration = configuration
    }

    // MARK: - Events

    /// A local write committed with sequence number `seq`: push it to every live peer at once.
    /// Returns nothing when no peer is live (anti-entropy will carry it later).
    public mutating func onLocalCommit(seq: UInt64) -> [ReplicationDirective] {
        onLocalCommit(seqs: seq...seq)
    }

    /// Several local writes committed at once: pushed to every live peer in ranges of at most
    /// ``ReplicationConfiguration/maxBatch`` sequence numbers.
    public mutating func onLocalCommit(seqs: ClosedRange<UInt64>) -> [ReplicationDirective] {
        let live = livePeers
        guard !live.isEmpty else { return [] }
        let batch = UInt64(max(1, configuration.maxBatch))
        var directives: [ReplicationDirective] = []
        var start = seqs.lowerBound
        while true {
            let (end, overflow) = start.addingReportingOverflow(batch - 1)
            let upper = overflow ? seqs.upperBound : min(end, seqs.upperBound)
            directives.append(.push(seqs: start...upper, to: live))
            guard upper < seqs.upperBound else { break }
            start = upper + 1
        }
        return directives
    }

    /// Membership says `peer` is alive or not (suspect counts as alive; the caller decides).
    /// A peer that becomes alive — first seen, or back after being down — gets an immediate
    /// anti-entropy round. Our own name is ignored.
    public mutating func onPeerStatus(_ peer: String, alive: Bool, now: UInt64) -> [ReplicationDirective] {
        guard peer != myself else { return [] }
        var state = peers[peer] ?? Peer()
        let wasAlive = state.alive
        state.alive = alive
        if alive {
            state.downSince = nil
            state.left = false
        } else if state.downSince == nil {
            state.downSince = now
        }
        peers[peer] = state
        return alive && !wasAlive ? [.antiEntropy(with: peer)] : []
    }

    /// Membership says `peer` left the cluster gracefully: it is no longer alive and no longer
    /// holds compaction back. (Should it come back, membership reports it alive again.)
    public mutating func onPeerLeft(_ peer: String, now: UInt64) {
        guard peer != myself else { return }
        var state = peers[peer] ?? Peer()
        state.alive = false
        state.left = true
        if state.downSince == nil { state.downSince = now }
        peers[peer] = state
    }

    /// Every ``ReplicationConfiguration/antiEntropyIntervalMillis``: anti-entropy with one
    /// random live peer. The first tick only starts the timer.
    /// Every ``ReplicationConfiguration/compactionIntervalMillis``: ``ReplicationDirective/compact``.
    public mutating func onTick(now: UInt64, rng: inout some RandomNumberGenerator) -> [ReplicationDirective] {
        var directives: [ReplicationDirective] = []
        if let due = nextCompactionAt {
            if now >= due {
                nextCompactionAt = now + configuration.compactionIntervalMillis
                directives.append(.compact)
            }
        } else {
            nextCompactionAt = now + configuration.compactionIntervalMillis
        }
        guard let due = nextAntiEntropyAt else {
            nextAntiEntropyAt = now + configuration.antiEntropyIntervalMillis
            return directives
        }
        guard now >= due else { return directives }
        nextAntiEntropyAt = now + configuration.antiEntropyIntervalMillis
        let live = livePeers
        guard !live.isEmpty else { return directives }
        return [.antiEntropy(with: live[Int.random(in: 0..<live.count, using: &rng)])] + directives
    }

    /// `peer` reported its version vector (answering a sync or acknowledging a push). Vectors
    /// are merged with earlier reports, so a late, older report does not lower what we know.
    public mutating func onPeerVector(_ peer: String, vector: VersionVector, now: UInt64) {
        guard peer != myself else { return }
        var state = peers[peer] ?? Peer()
        if var known = state.vector {
            known.merge(vector)
            state.vector = known
        } else {
            state.vector = vector
        }
        state.heardAt = now
        peers[peer] = state
    }

    // MARK: - Compaction

    /// The changes every member holds, as far as this node knows: per origin, the smallest
    /// contiguous mark among `own` (this node's vector) and the vectors reported by every peer
    /// that still counts — alive or suspect, or down for less than
    /// ``ReplicationConfiguration/deadMemberHorizonMillis``, and not left. `nil` while such a peer
    /// has not reported a vector yet (nothing may leave the log before it has).
    ///
    /// Changes at or below this point are needed by no current member: the log MAY drop them.
    /// A replica that lacks some of them anyway (new, or back after the horizon) is caught up
    /// by state transfer.
    public func stablePoint(own: VersionVector, now: UInt64) -> VersionVector? {
        var floor: [String: UInt64] = own.entries.mapValues(\.contiguous)
        for name in peers.keys.sorted() {
            guard let peer = peers[name], pins(peer, now: now) else { continue }
            guard let vector = peer.vector else { return nil }
            for (origin, mark) in floor {
                floor[origin] = min(mark, vector.entries[origin]?.contiguous ?? 0)
            }
        }
        return VersionVector(entries: floor.filter { $0.value > 0 }.mapValues { VersionVector.Entry(contiguous: $0) })
    }

    /// Whether `peer` still holds compaction back.
    func pins(_ peer: Peer, now: UInt64) -> Bool {
        if peer.left { return false }
        guard let since = peer.downSince else { return true }
        return now &- since < configuration.deadMemberHorizonMillis
    }

    /// Peers that hold compaction back now (alive, suspect, or down within the horizon), sorted.
    public func pinningPeers(now: UInt64) -> [String] {
        peers.filter { pins($0.value, now: now) }.keys.sorted()
    }

    /// Live peers (alive or suspect, not left) whose reported vector lacks some of `origin`'s
    /// changes `1...seq`, sorted: before a node leaves, it makes sure they have all of its own
    /// changes (a graceful leave loses no write).
    public func peersLacking(origin: String, through seq: UInt64) -> [String] {
        guard seq > 0 else { return [] }
        return peers.filter { _, peer in
            peer.alive && !peer.left && (peer.vector?.entries[origin]?.contiguous ?? 0) < seq
        }.keys.sorted()
    }

    /// True when membership reported `peer` as having left.
    public func hasLeft(_ peer: String) -> Bool { peers[peer]?.left ?? false }

    // MARK: - Reading

    /// How many of my changes `1...localMaxSeq` the peer is known to lack, by its last reported
    /// vector; `nil` when it never reported one.
    public func lag(of peer: String, localMaxSeq: UInt64) -> UInt64? {
        guard let vector = peers[peer]?.vector else { return nil }
        let entry = vector.entries[myself] ?? VersionVector.Entry()
        guard localMaxSeq > entry.contiguous else { return 0 }
        let alsoHeld = UInt64(entry.extra.count { $0 > entry.contiguous && $0 <= localMaxSeq })
        return localMaxSeq - entry.contiguous - alsoHeld
    }

    /// Peers currently alive, sorted by name.
    public var livePeers: [String] {
        peers.filter(\.value.alive).keys.sorted()
    }

    /// Every peer ever heard of (alive or not), sorted by name.
    public var knownPeers: [String] { peers.keys.sorted() }

    /// The union of the vectors `peer` reported, `nil` if none.
    public func vector(of peer: String) -> VersionVector? { peers[peer]?.vector }

    /// When `peer` last reported its vector, `nil` if never.
    public func lastHeard(from peer: String) -> UInt64? { peers[peer]?.heardAt }
}
