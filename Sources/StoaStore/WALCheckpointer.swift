import GRDB

/// Copies the write-ahead log back into the database file from a connection of its own, in the
/// background, so the writer finds little left to copy when its own checkpoint comes.
///
/// SQLite's writer checkpoints (`PASSIVE`) after the commit that takes the log past
/// ``writerBackstopPages`` (SQLite's default, 1000 pages, about 4 MiB); alone it would copy
/// those pages and flush the database file while every waiting write waits. ``run()`` checkpoints
/// in `PASSIVE` mode every ``intervalMillis``, and again at once while passes leave frames behind
/// and make progress (every millisecond while a reader still holds them), so the writer's own
/// checkpoint copies only the last few frames. A passive checkpoint never blocks readers or the
/// writer. Because the writer's checkpoint runs between two of its own writes, it can leave the
/// log copied whole, and the next write then starts the log over from its beginning (unless a
/// reader still reads an older snapshot from it); `journal_size_limit` truncates the file when
/// it has grown past ``StoaDatabase/walSizeLimitBytes``. The log thus stays within a few times
/// 1000 pages under a steady write load (measured: README, "Bounded history").
///
/// Measured against the previous rule (the writer's threshold at 10,000 pages and a `RESTART`
/// checkpoint from this connection past 1000 pages, which held writes back while it waited for
/// readers and rarely finished under load): with 16 clients creating on one node, the WAL's peak
/// went from 50 to 22 MB and creates/s up 4 % (5 alternating 10 s runs each, medians).
/// Durability is unchanged: a commit is in the log (flushed per `synchronous`) before a client
/// hears back, whoever copies it later.
public final class WALCheckpointer: Sendable {
    /// The writer's own checkpoint threshold while a checkpointer runs: SQLite's default.
    public static let writerBackstopPages = 1000

    private let connection: DatabaseQueue
    /// How often ``run()`` checkpoints.
    public let intervalMillis: Int

    /// Opens a connection of its own to the database file at `path` (in WAL mode already).
    init(path: String, intervalMillis: Int = 20) throws {
        var configuration = Configuration()
        // A pass that finds another checkpoint running (the writer's) gives up after 5 ms and is
        // tried again at the next one.
        configuration.busyMode = .timeout(0.005)
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

    /// Checkpoints every ``intervalMillis`` until cancelled; a failed pass (the database busy)
    /// is retried at the next one.
    public func run() async throws {
        var previous: (walFrames: Int, copied: Int)?
        var delay = intervalMillis
        while !Task.isCancelled {
            if delay > 0 {
                do {
                    try await Task.sleep(for: .milliseconds(delay))
                } catch {
                    return
                }
            }
            let result = try? await checkpoint()
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
