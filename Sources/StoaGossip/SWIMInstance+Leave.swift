extension SWIMInstance {
    // MARK: - Leaving (graceful departure, as memberlist's Leave)

    /// Announces that this member leaves the cluster for good: raises the incarnation, queues
    /// the `left` claim about ourselves and returns a ping carrying it to every member not known
    /// down, so the others mark us `left` at once rather than suspecting us. The driver then
    /// stops; the claim spreads further by the others' gossip. A member that starts again later
    /// refutes the claim with a higher incarnation and is alive again.
    public mutating func leave() -> [SWIMDirective] {
        incarnation += 1
        let claim = MemberUpdate(id: myself, status: .left, incarnation: incarnation, meta: meta)
        enqueue(claim)
        var directives: [SWIMDirective] = []
        for id in table.keys.sorted() where table[id].map({ !$0.member.status.isDown }) ?? false {
            let envelope = SWIMEnvelope(
                from: myself, fromMeta: meta, fromIncarnation: incarnation, message: .ping(sequence: nextSequence(), gossip: [claim])
            )
            directives.append(.send(envelope, to: id.address))
        }
        return directives
    }
}
