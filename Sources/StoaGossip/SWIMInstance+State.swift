/// Bookkeeping types of ``SWIMInstance``; internal, one concern each.
extension SWIMInstance {
    // MARK: - Members

    /// A known member and, while it is suspected, its suspicion.
    struct MemberState: Sendable, Hashable {
        var member: Member
        var suspicion: Suspicion?

        /// The claim describing this state, as piggybacked on messages.
        var claim: MemberUpdate {
            MemberUpdate(
                id: member.id, status: member.status, incarnation: member.incarnation, meta: member.meta,
                accuser: member.status == .suspect ? suspicion?.accusers.first : nil
            )
        }
    }

    /// A running suspicion (Lifeguard §IV-B): when it started, who accused (the first entry
    /// raised it, the others are independent confirmations) and how many confirmations K were
    /// expected when it started.
    struct Suspicion: Sendable, Hashable {
        var startedAt: UInt64
        var accusers: [String]
        var expectedConfirmations: Int

        var confirmations: Int { accusers.count - 1 }
    }

    // MARK: - Probes

    /// The probe of the current protocol period (SWIM §3.1).
    struct ProbeState: Sendable, Hashable {
        var target: MemberID
        var sequence: UInt64
        /// After this the target is probed indirectly.
        var directDeadline: UInt64
        /// The end of the protocol period: without an ack by then the target is suspected.
        var periodEnd: UInt64
        var indirectSent = false
        /// Nacks we can expect from intermediaries (Lifeguard §IV-A), and those received.
        var expectedNacks = 0
        var nacks = 0
    }

    /// A ping we sent as the intermediary of someone's ping-req.
    struct ForwardedProbe: Sendable, Hashable {
        var requester: MemberID
        var requesterSequence: UInt64
        var target: MemberID
        /// When we give up and send the requester a nack.
        var nackAt: UInt64
    }

    // MARK: - Gossip

    /// Identifies a queued claim: one per member, except that suspicions of the same
    /// incarnation by different accusers are kept apart so every confirmation spreads.
    struct GossipKey: Hashable, Comparable, Sendable {
        var id: MemberID
        var accuser: String

        static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.id, lhs.accuser) < (rhs.id, rhs.accuser)
        }
    }

    /// A queued claim and how many messages carried it so far.
    struct GossipEntry: Sendable, Hashable {
        var update: MemberUpdate
        var transmissions: Int
    }

    /// The shapes of message we send; gossip is added when sending.
    enum Outgoing: Sendable, Hashable {
        case ping(sequence: UInt64)
        case pingRequest(sequence: UInt64, target: MemberID)
        case ack(sequence: UInt64, target: MemberID)
        case nack(sequence: UInt64, target: MemberID)
    }
}
