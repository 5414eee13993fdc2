import StoaCore

/// The SWIM membership protocol (Das, Gupta & Motivala, "SWIM: Scalable Weakly-consistent
/// Infection-style Process Group Membership Protocol", DSN 2002) with the Lifeguard extensions
/// (Dadgar, Phillips & Currey, "Lifeguard: Local Health Awareness for More Accurate Failure
/// Detection", 2018), as a pure state machine.
///
/// The instance never does I/O and never reads a clock: its driver (the NIO shell or the
/// simulator) feeds it events — ``onTick(now:rng:)`` about every 100 ms and
/// ``onMessage(_:now:rng:)`` for every received envelope — and carries out the returned
/// ``SWIMDirective``s. Given the same events, times and random generator state it returns the
/// same directives, so a simulated run replays from its seed.
///
/// What it implements:
/// - failure detection by round-robin probing over a list shuffled every round (SWIM §3.1,
///   §4.3), with indirect probes through `k` other members when the direct ack is late;
/// - the suspicion mechanism with incarnation numbers and refutation (SWIM §4.2);
/// - infection-style dissemination piggybacked on probe traffic (SWIM §4.1);
/// - Lifeguard local health: probe timeout and period scaled by `localHealth + 1` and nacks
///   from intermediaries (§IV-A), suspicion timeouts that shrink with independent
///   confirmations (§IV-B), and every message to a suspected member tells it so (§IV-C, buddy
///   system);
/// - joining through seed addresses and re-pinging dead members, which also heals partitions
///   after which each side had declared the other dead.
public struct SWIMInstance: Sendable {
    // MARK: - Identity

    /// The local member.
    public let myself: MemberID
    /// The opaque data the local member announces (Stoa: its HTTP URL).
    public private(set) var meta: String
    public let configuration: SWIMConfiguration
    /// The local incarnation number; raised only to refute a suspicion about ourselves.
    public internal(set) var incarnation: UInt64 = 0
    /// Lifeguard's local health multiplier score (§IV-A): 0 is healthy, up to
    /// ``SWIMConfiguration/maxLocalHealth``. Timeouts are multiplied by `localHealth + 1`.
    public internal(set) var localHealth: Int = 0

    // MARK: - State

    /// Every known member except ourselves.
    var table: [MemberID: MemberState] = [:]
    /// Join seeds, deduplicated, without our own address.
    let seeds: [MemberAddress]
    /// The current round's probe order (SWIM §4.3) and the position in it.
    var probeOrder: [MemberID] = []
    var probeIndex = 0
    /// The probe of the current protocol period, while it awaits an ack.
    var probe: ProbeState?
    /// When the next protocol period starts (`nil` before the first tick).
    var nextProbeAt: UInt64?
    /// Pings we sent on behalf of others (we are the intermediary of a ping-req), by our sequence.
    var forwarded: [UInt64: ForwardedProbe] = [:]
    /// The last sequence number used for a ping we sent.
    var lastSequence: UInt64 = 0
    /// Claims waiting to be piggybacked (SWIM §4.1).
    var gossip: [GossipKey: GossipEntry] = [:]
    /// When seeds and one dead member are pinged next (`nil` before the first tick).
    var nextJoinAt: UInt64?

    // MARK: - Creating

    /// Creates the instance of a freshly started member at incarnation 0.
    ///
    /// - Parameters:
    ///   - seeds: addresses pinged about every second until a live member listening there is
    ///     known. Our own address is ignored, so every node may be given the same list.
    public init(myself: MemberID, meta: String, configuration: SWIMConfiguration = .init(), seeds: [MemberAddress]) {
        self.myself = myself
        self.meta = meta
        self.configuration = configuration
        var unique: [MemberAddress] = []
        for seed in seeds where seed != myself.address && !unique.contains(seed) {
            unique.append(seed)
        }
        self.seeds = unique
    }

    // MARK: - Reading the view

    /// Every known member except ourselves (dead ones until forgotten), sorted by id.
    public var members: [Member] {
        table.values.map(\.member).sorted { $0.id < $1.id }
    }

    /// The member with that node name. Should several ids carry the name (a node restarted on
    /// another address), the liveliest is returned: alive before suspect before dead, then the
    /// highest incarnation.
    public func member(named name: String) -> Member? {
        table.values.map(\.member).filter { $0.id.name == name }.min { lhs, rhs in
            let lhsRank = Self.rank(lhs.status), rhsRank = Self.rank(rhs.status)
            if lhsRank != rhsRank { return lhsRank < rhsRank }
            if lhs.incarnation != rhs.incarnation { return lhs.incarnation > rhs.incarnation }
            return lhs.id < rhs.id
        }
    }

    /// The number of members not known to be dead, ourselves included.
    public var liveCount: Int {
        1 + table.values.count { !$0.member.status.isDown }
    }

    private static func rank(_ status: MemberStatus) -> Int {
        switch status {
        case .alive: return 0
        case .suspect: return 1
        case .dead: return 2
        case .left: return 3
        }
    }

    // MARK: - Events

    /// Advances timers to `now`: probe and indirect-probe timeouts, nacks owed as an
    /// intermediary, suspicion expiry, the start of the next protocol period, seed and
    /// dead-member pings, and forgetting long-dead members.
    ///
    /// The driver SHOULD call it every ~100 ms (timeouts are only as precise as the ticks);
    /// `now` MUST NOT go backwards.
    public mutating func onTick(now: UInt64, rng: inout some RandomNumberGenerator) -> [SWIMDirective] {
        var directives: [SWIMDirective] = []
        checkProbe(now: now, rng: &rng, into: &directives)
        sendOwedNacks(now: now, rng: &rng, into: &directives)
        expireSuspicions(now: now, into: &directives)
        if probe == nil, now >= (nextProbeAt ?? now) {
            startProbe(now: now, rng: &rng, into: &directives)
        }
        if now >= (nextJoinAt ?? now) {
            nextJoinAt = now + configuration.joinRetryIntervalMillis
            pingSeedsAndDead(rng: &rng, into: &directives)
        }
        forgetLongDead(now: now)
        return directives
    }

    /// Handles one received envelope.
    ///
    /// The sender is first taken as alive at `fromIncarnation` (an unknown sender is added),
    /// then the piggybacked claims are applied with the SWIM §4.2 precedence rules:
    /// - `alive(i)` overrides any claim about the member with incarnation `< i`;
    /// - `suspect(i)` overrides `alive(j)` for `j <= i`, `suspect(j)` for `j < i`, `dead(j)`
    ///   for `j < i`; an equal `suspect(i)` from a new accuser is a confirmation (Lifeguard §IV-B);
    /// - `dead(i)` overrides `alive(j)` and `suspect(j)` for `j <= i`;
    /// - a `suspect` or `dead` claim about ourselves at our incarnation or above is refuted by
    ///   raising our incarnation above it and spreading `alive` (SWIM §4.2).
    ///
    /// A `ping` is answered with an `ack` even when the sender is considered dead at its
    /// incarnation; the ack then carries that `dead` claim so the sender (typically a restarted
    /// node) refutes it and rejoins. Likewise, when the sender announces metadata other than the
    /// claim we hold about it at an incarnation that is not newer, the ack carries that claim, so
    /// the sender overrides it and its new metadata spreads (`metaChanged`).
    public mutating func onMessage(_ envelope: SWIMEnvelope, now: UInt64, rng: inout some RandomNumberGenerator) -> [SWIMDirective] {
        let sender = envelope.from
        guard sender.name != myself.name else { return [] }
        var directives: [SWIMDirective] = []

        let previous = table[sender]?.member
        // A newcomer, or a member that lost its state (restarted while considered dead), is
        // sent a snapshot of the membership with our reply.
        let welcome = previous.map { $0.status.isDown && $0.incarnation >= envelope.fromIncarnation } ?? true
        // A sender announcing other metadata than we hold for it at an incarnation that is not
        // newer lost its state (restarted, e.g. on another HTTP port, before it was declared
        // dead): our reply carries our claim about it, which it overrides at a higher incarnation.
        let stale = previous.map {
            !$0.status.isDown && $0.incarnation >= envelope.fromIncarnation && $0.meta != envelope.fromMeta
        } ?? false
        apply(
            MemberUpdate(id: sender, status: .alive, incarnation: envelope.fromIncarnation, meta: envelope.fromMeta),
            now: now, rng: &rng, into: &directives
        )
        for update in envelope.message.gossip {
            apply(update, now: now, rng: &rng, into: &directives)
        }

        switch envelope.message {
        case .ping(let sequence, _):
            send(.ack(sequence: sequence, target: myself), to: sender.address, about: sender, welcome: welcome, correcting: stale, rng: &rng, into: &directives)
        case .pingRequest(let sequence, let target, _):
            handlePingRequest(sequence: sequence, target: target, from: sender, now: now, rng: &rng, into: &directives)
        case .ack(let sequence, let target, _):
            handleAck(sequence: sequence, target: target, rng: &rng, into: &directives)
        case .nack(let sequence, let target, _):
            if var current = probe, current.sequence == sequence, current.target == target {
                current.nacks += 1
                probe = current
            }
        }
        return directives
    }
}
