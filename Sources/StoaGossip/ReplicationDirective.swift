/// What a ``ReplicationMachine`` asks the node to do.
public enum ReplicationDirective: Sendable, Hashable {
    /// Push my local changes with these sequence numbers to these peers (by node name), at once.
    case push(seqs: ClosedRange<UInt64>, to: [String])
    /// Send my version vector to that peer; it answers with the changes I lack and its own vector.
    case antiEntropy(with: String)
    /// Time to compact the log: remove the changes every member holds
    /// (``ReplicationMachine/stablePoint(own:now:)``).
    case compact
}
