/// The SWIM failure-detector messages (SWIM §3.1) with Lifeguard's nack (§IV-A). Each carries
/// piggybacked membership claims (SWIM §4.1).
public enum SWIMMessage: Sendable, Hashable {
    /// Direct probe; the receiver MUST answer with an ``ack(sequence:target:gossip:)`` with
    /// the same sequence and itself as target.
    case ping(sequence: UInt64, gossip: [MemberUpdate])
    /// Ask the receiver to probe `target` on the sender's behalf (SWIM §3.1, ping-req).
    case pingRequest(sequence: UInt64, target: MemberID, gossip: [MemberUpdate])
    /// Proof that `target` is alive, answering the probe numbered `sequence`.
    case ack(sequence: UInt64, target: MemberID, gossip: [MemberUpdate])
    /// Lifeguard §IV-A: the intermediary could not reach `target` in time.
    case nack(sequence: UInt64, target: MemberID, gossip: [MemberUpdate])

    /// The piggybacked claims.
    public var gossip: [MemberUpdate] {
        switch self {
        case .ping(_, let gossip), .pingRequest(_, _, let gossip), .ack(_, _, let gossip), .nack(_, _, let gossip):
            return gossip
        }
    }

    /// The probe sequence number the message belongs to.
    public var sequence: UInt64 {
        switch self {
        case .ping(let sequence, _), .pingRequest(let sequence, _, _), .ack(let sequence, _, _), .nack(let sequence, _, _):
            return sequence
        }
    }
}
