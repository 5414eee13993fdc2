import GRDB

/// Copies the write-ahead log back into the database file from a connection of its own, in the
/// background, so the writer rarely stops for it.
///
/// Left to SQLite, the connection that commits when the log passes 1000 pages runs the
/// checkpoint itself: it copies the pages and flushes the database file while every waiting
/// write (and the client behind it) waits. With a checkpointer the writer's own threshold is
/// raised to ``writerBackstopPages`` and ``run()`` checkpoints in `PASSIVE` mode every
/// ``intervalMillis``, and again at once while passes leave frames behind and make progress
/// (every millisecond while a reader still holds them). A passive checkpoint never blocks readers
/// or the writer. Under a steady stream of writes a log that is always being appended to would
/// rarely restart from its beginning (a write restarts it only when it finds it copied whole),
/// so once the log passes ``restartPages`` the checkpointer runs one `RESTART` checkpoint: it
/// copies what little the passive passes left, waits (briefly holding new writes back) until no
/// reader uses the log, and the next write starts it over; `journal_size_limit` then truncates
/// the file. The log file thus stays near ``restartPages`` however long writes go on.
/// Durability is unchanged: a commit is in the log (flushed per `synchronous`) before a client
/// hears back, whoever copies it later.
public final class WALCheckpointer: Sendable {
    /// The writer's own checkpoint threshold while a checkpointer runs (about 40 MB of log).
    public static let writerBackstopPages = 10_000
    /// A log longer than this (pages, about 4 MiB) is restarted from its beginning.
    public static let restartPages = 1000
    /// How long a `RESTART` may wait for readers (holding writes back meanwhile).
    static let restartWaitMillis = 5
    /// How long after a `RESTART` that could not finish the next one may be tried. With a
    /// 100 ms wait retried at once, writes stood still most of the time under load (creates fell
    /// from 1,300 to 150-400 per second once the log first passed ``restartPages``).
    static let restartRetryMillis = 100

    private let connection: DatabaseQueue
    /// How often ``run()`` checkpoints.
    public let intervalMillis: Int

    /// Opens a connection of its own to the database file at `path` (in WAL mode already).
    init(path: String, intervalMillis: Int = 20) throws {
        var configuration = Configuration()
        // Very short: a RESTART holds the write lock while it waits for readers, so every
        // write waits as long as it does; one that cannot finish gives up after this and is
        // tried again no sooner than `restartRetryMillis` later.
        configuration.busyMode = .timeout(Double(Self.restartWaitMillis) / 1000)
        configuration.label = "stoa.checkpointer"
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.intervalMillis = intervalMillis
    }

    /// One `PASSIVE` checkpoint: returns the frames in the log and how many of them are now in
    /// the database file (all of them unless a reader still uses some).
    @discardableResult
    public func checkpoint() async throws -> (walFrames: Int, copied: Int) {
        try await connection.writeWithoutTransaction { db in
            let result = try db.checkpoint(.passive)
            return (result.walFrameCount, result.checkpointedFrameCount)
        }
    }

    /// One `RESTART` checkpoint: everything copied, and the next write starts the log over.
    @discardableResult
    public func restart() async throws -> (walFrames: Int, copied: Int) {
        try await connection.writeWithoutTransaction { db in
            let result = try db.checkpoint(.restart)
            return (result.walFrameCount, result.checkpointedFrameCount)
        }
    }

    /// Checkpoints every ``intervalMillis`` until cancelled; a failed pass (the database busy)
    /// is retried at the next one.
    public func run() async throws {
        var previous: (walFrames: Int, copied: Int)?
        var delay = intervalMillis
        let clock = ContinuousClock()
        var restartAllowed = clock.now
        while !Task.isCancelled {
            if delay > 0 {
                do {
                    try await Task.sleep(for: .milliseconds(delay))
                } catch {
                    return
                }
            }
            var result = try? await checkpoint()
            if let passive = result, passive.walFrames > Self.restartPages, clock.now >= restartAllowed {
                if let restarted = try? await restart(), restarted.copied == restarted.walFrames {
                    result = restarted
                } else {
                    result = passive
                    restartAllowed = clock.now + .milliseconds(Self.restartRetryMillis)
                }
            }
            defer { previous = result }
            guard let result, result.copied < result.walFrames else {
                delay = intervalMillis
                continue
            }
            // Frames left behind. Appended during the pass: go again at once (a pass that ends
            // with nothing new lets the next write restart the log from its beginning). Still
            // needed by a reader (no progress): look again in a millisecond rather than spin.
            let progressed = previous.map { result.copied != $0.copied || result.walFrames < $0.walFrames } ?? true
            delay = progressed ? 0 : 1
        }
    }
}
