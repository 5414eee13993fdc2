import GRDB
import Synchronization

/// Group commit for the writes clients wait on: writes that arrive while the writer is busy are
/// run together in one transaction, each in its own savepoint, and each caller hears back only
/// after that transaction has committed (durable per the database's `synchronous` setting).
///
/// A write that throws is rolled back to its savepoint (with its ``CommitHooks``) and its caller
/// gets its error; the others in the batch are unaffected. When the commit itself fails, every
/// caller in the batch gets that error and nothing of the batch is stored. Writes run in arrival
/// order, each seeing the ones before it. One batch runs per turn of the GRDB writer, so other
/// writers (replication, device syncs) interleave with a stream of batches.
final class WriteBatcher: Sendable {
    /// One queued write: `run` performs it (false when it failed and was undone), `finish` tells
    /// its caller once the transaction is over (nil: committed; an error: the transaction failed,
    /// or never began, in which case `run` was never called).
    private struct Job: Sendable {
        let run: @Sendable (Database, _ isolated: Bool, CommitHooks) -> Bool
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        var draining = false
    }

    private let writer: any DatabaseWriter
    private let hooks: CommitHooks
    private let maxBatch: Int
    private let queue = Mutex(Queue())
    /// Writes queued and not yet taken into a batch.
    var queued: Int { queue.withLock { $0.jobs.count } }
    /// Batches run and the writes in them so far (for tests).
    let committed = Mutex<(batches: Int, writes: Int)>((0, 0))

    init(writer: any DatabaseWriter, hooks: CommitHooks, maxBatch: Int = 64) {
        self.writer = writer
        self.hooks = hooks
        self.maxBatch = maxBatch
    }

    /// Runs `body` in a transaction shared with the writes queued beside it; returns its result
    /// once that transaction has committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = Mutex<Result<T, any Error>?>(nil)
            let job = Job(
                run: { db, isolated, hooks in
                    let mark = hooks.mark()
                    do {
                        var value: T?
                        if isolated {
                            try db.inSavepoint {
                                value = try body(db)
                                return .commit
                            }
                        } else {
                            value = try body(db)
                        }
                        outcome.withLock { $0 = .success(value!) }
                        return true
                    } catch {
                        hooks.rollBack(to: mark)
                        outcome.withLock { $0 = .failure(error) }
                        return false
                    }
                },
                finish: { transactionError in
                    switch (outcome.withLock { $0 }, transactionError) {
                    case (.failure(let error)?, _): continuation.resume(throwing: error)
                    case (_, let error?): continuation.resume(throwing: error)
                    case (.success(let value)?, nil): continuation.resume(returning: value)
                    case (nil, nil): continuation.resume(throwing: CancellationError()) // not reached: a job not run has a failed transaction
                    }
                }
            )
            let start = queue.withLock { queue in
                queue.jobs.append(job)
                defer { queue.draining = true }
                return !queue.draining
            }
            if start { runBatch() }
        }
    }

    /// Takes up to `maxBatch` queued writes and commits them in one transaction on the writer,
    /// then schedules the next batch or stops when none is queued.
    private func runBatch() {
        writer.asyncWriteWithoutTransaction { db in
            let batch = self.queue.withLock { queue in
                let count = min(self.maxBatch, queue.jobs.count)
                defer { queue.jobs.removeFirst(count) }
                return Array(queue.jobs.prefix(count))
            }
            var failure: (any Error)?
            do {
                try db.inTransaction(.immediate) {
                    // A lone write needs no savepoint: when it fails, the transaction rolls back.
                    let isolated = batch.count > 1
                    for job in batch {
                        let succeeded = job.run(db, isolated, self.hooks)
                        if !succeeded && !isolated { return .rollback }
                    }
                    return .commit
                }
            } catch {
                failure = error
            }
            if failure == nil { self.committed.withLock { $0.batches += 1; $0.writes += batch.count } }
            for job in batch { job.finish(failure) }
            let more = self.queue.withLock { queue in
                if queue.jobs.isEmpty { queue.draining = false }
                return queue.draining
            }
            if more { self.runBatch() }
        }
    }
}
