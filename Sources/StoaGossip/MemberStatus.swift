/// What the local member believes about another member (SWIM §4.2).
///
/// - `alive`: answering probes, or not yet suspected.
/// - `suspect`: a probe failed; it is treated as alive for routing but will be declared dead
///   unless it refutes (or is confirmed dead) before the suspicion times out.
/// - `dead`: declared failed. Final for that incarnation: only a claim with a higher
///   incarnation (the member refuting, e.g. after a restart) brings it back.
/// - `left`: the member announced that it leaves the cluster for good (a graceful leave, as
///   memberlist's). Like `dead` it is not probed and is forgotten after the retention, and only
///   a claim with a higher incarnation (the member started again) brings it back; unlike `dead`
///   it is never a suspicion of failure, and replication stops waiting for it at once.
public enum MemberStatus: String, Sendable, Hashable {
    case alive
    case suspect
    case dead
    case left

    /// Dead or left: not probed, not counted among the live members.
    public var isDown: Bool { self == .dead || self == .left }
}
