/// What a ``SWIMInstance`` asks its driver (the network shell or the simulator) to do.
public enum SWIMDirective: Sendable, Hashable {
    /// Send the envelope to that address (best effort, e.g. one UDP datagram).
    case send(SWIMEnvelope, to: MemberAddress)
    /// A member's status changed; `from` is `nil` when the member was just learned. Emitted
    /// exactly once per change, in the order the changes happened.
    case statusChanged(MemberID, from: MemberStatus?, to: MemberStatus, meta: String)
    /// A member announced other metadata at a newer incarnation while its status stayed the
    /// same (a node restarted on another HTTP port before anyone declared it dead).
    case metaChanged(MemberID, meta: String)
}
