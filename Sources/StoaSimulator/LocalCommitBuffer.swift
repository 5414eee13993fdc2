import StoaStore
import Synchronization

/// Collects the local writes as a store commits them: the store's `onCommit` observer appends
/// (on the store's queue), the simulator drains right after each write returns, and feeds their
/// sequence numbers to replication as the node's shell does. Each comes with the write's own
/// delta, which the checks compare with what the client asked for (the log itself may have merged
/// it into a later change of the record, or compacted it away, by the end of the run).
final class LocalCommitBuffer: Sendable {
    private let commits = Mutex<[CommittedChange]>([])

    func append(_ change: CommittedChange) { commits.withLock { $0.append(change) } }

    /// The local writes committed since the last drain, in commit order.
    func drain() -> [CommittedChange] {
        commits.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
    }
}
