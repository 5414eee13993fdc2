/// What the local member believes about another member (SWIM §4.2).
///
/// - `alive`: answering probes, or not yet suspected.
/// - `suspect`: a probe failed; it is treated as alive for routing but will be declared dead
///   unless it refutes (or is confirmed dead) before the suspicion times out.
/// - `dead`: declared failed. Final for that incarnation: only a claim with a higher
///   incarnation (the member refuting, e.g. after a restart) brings it back.
public enum MemberStatus: String, Sendable, Hashable {
    case alive
    case suspect
    case dead
}
