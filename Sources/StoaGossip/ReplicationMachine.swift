import StoaCore

/// Schedules replication (DESIGN.md, "Spread") as a pure state machine: a committed write is
/// pushed at once to every live peer; anti-entropy runs periodically with one random live
/// peer, and at once with a peer that (re)appears, to repair whatever pushes missed.
///
/// It knows peers by node name, learns liveness from membership (``onPeerStatus(_:alive:now:)``)
/// and what peers hold from the version vectors they report (``onPeerVector(_:vector:now:)``).
/// Like ``SWIMInstance`` it does no I/O and takes time and randomness as arguments.
public struct ReplicationMachine: Sendable {
    /// What we know about one peer.
    struct Peer: Sendable, Hashable {
        var alive = false
        /// The union of the vectors it reported, `nil` before the first.
        var vector: VersionVector?
        var heardAt: UInt64?
    }

    /// The local node's name (the origin of its changes).
    public let myself: String
    public let configuration: ReplicationConfiguration
    var peers: [String: Peer] = [:]
    /// When periodic anti-entropy runs next (`nil` before the first tick).
    var nextAntiEntropyAt: UInt64?

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
        peers[peer] = state
        return alive && !wasAlive ? [.antiEntropy(with: peer)] : []
    }

    /// Every ``ReplicationConfiguration/antiEntropyIntervalMillis``: anti-entropy with one
    /// random live peer. The first tick only starts the timer.
    public mutating func onTick(now: UInt64, rng: inout some RandomNumberGenerator) -> [ReplicationDirective] {
        guard let due = nextAntiEntropyAt else {
            nextAntiEntropyAt = now + configuration.antiEntropyIntervalMillis
            return []
        }
        guard now >= due else { return [] }
        nextAntiEntropyAt = now + configuration.antiEntropyIntervalMillis
        let live = livePeers
        guard !live.isEmpty else { return [] }
        return [.antiEntropy(with: live[Int.random(in: 0..<live.count, using: &rng)])]
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
