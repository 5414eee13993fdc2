import Foundation
import GRDB
import StoaCore

/// The physical limit: the same operations as the Records API workloads done directly on SQLite
/// through GRDB, with no HTTP, JSON, auth or replication metadata, and the node's storage
/// settings (a `DatabasePool` in WAL mode, `synchronous` NORMAL or FULL, the same `quotes` table
/// and index).
///
/// create = one `INSERT` per write transaction; get = one `SELECT` by primary key; list = the
/// newest 30 of the user (plus `COUNT(*)` when totals are asked), every column read into memory.
public struct RawSQLiteTarget: BenchTarget {
    public let path: String
    let pool: DatabasePool
    let userID = "benchuser000001"
    let seededIDs: [String]

    /// Opens (creating) a fresh database at `path` with `synchronous` = `synchronous`
    /// (`NORMAL` or `FULL`) and seeds `seed` rows of the bench user.
    public static func open(path: String, synchronous: String, seed: Int) throws -> RawSQLiteTarget {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { db in
            try db.execute(sql: """
                CREATE TABLE quotes (
                    id TEXT PRIMARY KEY NOT NULL, content TEXT NOT NULL DEFAULT '', author TEXT NOT NULL DEFAULT '',
                    source TEXT NOT NULL DEFAULT '', notes TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '[]',
                    userId TEXT NOT NULL DEFAULT '', created TEXT NOT NULL DEFAULT '', updated TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX quotes_user_created ON quotes (userId, created);
                """)
        }
        var rng = SplitMix64(seed: 42)
        var ids: [String] = []
        try pool.write { db in
            for _ in 0..<seed {
                let id = RecordID.generate(using: &rng)
                try insert(db, id: id, userID: "benchuser000001")
                ids.append(id)
            }
        }
        return RawSQLiteTarget(path: path, pool: pool, seededIDs: ids)
    }

    /// Rows in the `quotes` table.
    public func rowCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM quotes") ?? 0 }
    }

    static func insert(_ db: Database, id: String, userID: String) throws {
        let now = PocketBaseDate.format(millis: UInt64(Date().timeIntervalSince1970 * 1000))
        try db.execute(
            sql: "INSERT INTO quotes (id, content, author, source, notes, tags, userId, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                id, "The happiness of your life depends upon the quality of your thoughts. (bench quote)", "Marcus Aurelius",
                "Meditations, Book V", "", #"["stoic","bench"]"#, userID, now, now,
            ]
        )
    }

    public func perform(_ operation: BenchOperation, client: Int, rng: inout SplitMix64) async -> BenchOutcome {
        do {
            switch operation {
            case .create:
                let id = RecordID.generate(using: &rng)
                try await pool.write { db in try Self.insert(db, id: id, userID: userID) }
            case .edit:
                let id = seededIDs[Int.random(in: 0..<seededIDs.count, using: &rng)]
                try await pool.write { db in
                    try db.execute(sql: "UPDATE quotes SET content = ?, updated = ? WHERE id = ?", arguments: ["edited (bench)", Date().description, id])
                }
            // Reads use GRDB's synchronous `read` (its async one needs a Sendable result, and `Row`
            // is not): each blocks its task's thread, as the anchor has since it was written.
            case .get:
                let id = seededIDs[Int.random(in: 0..<seededIDs.count, using: &rng)]
                let row = try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM quotes WHERE id = ?", arguments: [id]) }
                guard row != nil else { return .failure("not found") }
            case .list(let total):
                let user = userID
                _ = try pool.read { db in
                    let rows = try Row.fetchAll(
                        db, sql: "SELECT * FROM quotes WHERE userId = ? ORDER BY created DESC LIMIT \(benchPageSize)", arguments: [user]
                    )
                    let count = total ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM quotes WHERE userId = ?", arguments: [user]) : nil
                    return (rows, count)
                }
            }
            return .success
        } catch {
            return .failure("sqlite: \(String(describing: error).prefix(80))")
        }
    }
}
