import GRDB
import Synchronization

/// Work to run after the writer's current transaction commits (publishing committed changes and
/// record events), dropped when it rolls back.
///
/// Unlike GRDB's `afterNextTransaction`, the hooks added since a ``mark()`` can be withdrawn
/// (``rollBack(to:)``): a write that fails inside a shared transaction (see ``WriteBatcher``) is
/// undone with its savepoint, and what it would have published must go with it. Used on the
/// database's writer only (one transaction at a time), so the lock is never contended.
final class CommitHooks: Sendable {
    private let pending = Mutex<[@Sendable () -> Void]>([])

    /// Runs `hook` once the current transaction of `db` commits; nothing when it rolls back.
    func add(_ db: Database, _ hook: @escaping @Sendable () -> Void) {
        let first = pending.withLock { hooks in
            hooks.append(hook)
            return hooks.count == 1
        }
        guard first else { return }
        db.afterNextTransaction(
            onCommit: { _ in
                for hook in self.pending.withLock({ hooks in defer { hooks = [] }; return hooks }) { hook() }
            },
            onRollback: { _ in self.pending.withLock { $0 = [] } }
        )
    }

    /// The position to withdraw to when the work that follows fails.
    func mark() -> Int { pending.withLock { $0.count } }

    /// Withdraws the hooks added since `mark` (their work was rolled back to a savepoint).
    func rollBack(to mark: Int) {
        pending.withLock { hooks in if hooks.count > mark { hooks.removeSubrange(mark...) } }
    }
}
