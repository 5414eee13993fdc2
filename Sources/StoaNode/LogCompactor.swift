import Logging
import Metrics
import ServiceLifecycle
import StoaCore
import StoaStore

/// Compacts the change log of a node that runs alone (no cluster): with no peer to wait for,
/// everything it holds is stable, so every compaction empties the log down to the floor. A node
/// in a cluster compacts from its `ClusterNode` instead (to the members' stable point).
struct LogCompactor: Service {
    let database: StoaDatabase
    let intervalMillis: UInt64
    let logger: Logger

    func run() async throws {
        // Graceful shutdown cancels the sleep: the service then ends normally.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(intervalMillis))
                do {
                    let removed = try await database.compact(upTo: database.versionVector())
                    if removed > 0 { Counter(label: "stoa_log_compacted_changes_total").increment(by: removed) }
                } catch {
                    logger.error("compaction failed: \(error)")
                }
            }
        }
        // Once more on the way out: a node stopped cleanly leaves no log behind.
        _ = try? await database.compact(upTo: database.versionVector())
    }
}
