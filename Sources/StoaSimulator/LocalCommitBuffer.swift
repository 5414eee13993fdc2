import Synchronization

/// Collects the sequence numbers of local writes as a store commits them: the store's
/// `onCommit` observer appends (on the store's queue), the simulator drains right after each
/// write returns, and feeds them to replication as the node's shell does.
final class LocalCommitBuffer: Sendable {
    private let seqs = Mutex<[UInt64]>([])

    func append(_ seq: UInt64) { seqs.withLock { $0.append(seq) } }

    /// The sequence numbers committed since the last drain, in commit order.
    func drain() -> [UInt64] {
        seqs.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
    }
}
