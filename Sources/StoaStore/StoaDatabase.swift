import Foundation
import GRDB
import StoaCore
import Synchronization

/// The one database wrapper of a Stoa node: a GRDB writer over the system libsqlite3 holding
/// the materialized collections, every record's CRDT state and the change log.
///
/// Every write method is atomic: it updates the record's materialized row, its CRDT state and
/// appends the change in one transaction (the record writes clients wait on share a transaction
/// with the writes queued beside them, each in its own savepoint: see ``WriteBatcher``), so a
/// crash leaves either all of a write or none of it, and a write returns only once committed.
public final class StoaDatabase: Sendable {
    /// How hard SQLite flushes on commit.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous=NORMAL` in WAL mode: survives a process crash; an OS crash or power cut may
        /// lose the last transactions (PocketBase's setting).
        case normal
        /// `synchronous=FULL`: every acknowledged write is on disk before it is acknowledged.
        case full
    }

    /// The GRDB writer (a `DatabasePool` in WAL mode on disk, a `DatabaseQueue` in memory).
    public let writer: any DatabaseWriter
    /// The name of this node.
    public let nodeName: String
    /// The origin of every change this replica writes: the node name, plus (on disk) an epoch
    /// that is new for a new data folder and after every unclean shutdown. Sequence numbers are
    /// per origin, so a wiped folder or commits lost in an OS crash (`synchronous=NORMAL`)
    /// can never make a new write reuse a (origin, seq) that peers already hold.
    public let origin: String
    /// Milliseconds since the Unix epoch; injected so tests and the simulator control time.
    let physicalMillis: @Sendable () -> UInt64
    let clock: Mutex<HybridLogicalClock>
    /// The replica's version vector, kept in step with the `changes` table on every commit.
    let vector: Mutex<VersionVector>
    /// The log's compacted prefix per origin (`log_floor`): changes at or below it are held
    /// (their effect is in the record states) but no longer in the log.
    let floor: Mutex<VersionVector>
    let observers = Mutex<[@Sendable (CommittedChange) -> Void]>([])
    let eventObservers = Mutex<[@Sendable ([RecordEvent]) -> Void]>([])
    /// Copies the write-ahead log into the database file in the background, when the database was
    /// opened with `backgroundCheckpoints`; its ``WALCheckpointer/run()`` must run (the node runs it
    /// as a service).
    public let checkpointer: WALCheckpointer?
    /// The connections of the request path's reads (on disk; nil in memory).
    let requestReaders: RequestReaders?
    /// What the current transaction publishes when it commits.
    let hooks = CommitHooks()
    /// Group commit of the local writes clients wait on (``create(_:id:fields:tags:unique:)`` and
    /// the other record writes).
    let batcher: WriteBatcher
    let encoder = JSONEncoder()
    let decoder = JSONDecoder()

    /// Opens (creating if needed) the database at `path` for node `nodeName`.
    ///
    /// - Throws: ``StoreError/nodeNameMismatch(stored:given:)`` when the file was created by
    ///   another node name; GRDB errors when the file cannot be opened or migrated.
    ///
    /// - Parameter backgroundCheckpoints: copy the write-ahead log into the database file from
    ///   ``checkpointer`` (which must then run) instead of in the writer (see ``WALCheckpointer``).
    public convenience init(
        path: String,
        nodeName: String,
        durability: Durability = .normal,
        backgroundCheckpoints: Bool = false,
        maxDriftMillis: UInt64 = 60_000,
        physicalMillis: @escaping @Sendable () -> UInt64 = StoaDatabase.systemMillis
    ) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                // Pages the compacted log frees are given back to the file system (a no-op on
                // files created before this setting, which reuse free pages instead).
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                // The write-ahead log is truncated back to this size after checkpoints.
                try db.execute(sql: "PRAGMA journal_size_limit = \(StoaDatabase.walSizeLimitBytes)")
            }
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            if backgroundCheckpoints { try db.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerBackstopPages)") }
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try self.init(
            writer: pool, nodeName: nodeName, persistent: true, maxDriftMillis: maxDriftMillis, physicalMillis: physicalMillis,
            checkpointer: backgroundCheckpoints ? WALCheckpointer(path: path) : nil, requestReaders: RequestReaders(path: path)
        )
    }

    /// An in-memory database (tests and the simulator).
    public static func inMemory(
        nodeName: String,
        maxDriftMillis: UInt64 = 60_000,
        physicalMillis: @escaping @Sendable () -> UInt64 = StoaDatabase.systemMillis
    ) throws -> StoaDatabase {
        try StoaDatabase(writer: DatabaseQueue(), nodeName: nodeName, persistent: false, maxDriftMillis: maxDriftMillis, physicalMillis: physicalMillis)
    }

    /// - Parameter persistent: on-disk databases get an epoch in their origin (see ``origin``);
    ///   an in-memory one has no earlier life and uses the bare node name.
    init(
        writer: any DatabaseWriter, nodeName: String, persistent: Bool, maxDriftMillis: UInt64, physicalMillis: @escaping @Sendable () -> UInt64,
        checkpointer: WALCheckpointer? = nil, requestReaders: RequestReaders? = nil
    ) throws {
        self.writer = writer
        self.checkpointer = checkpointer
        self.requestReaders = requestReaders
        self.batcher = WriteBatcher(writer: writer, hooks: hooks)
        self.nodeName = nodeName
        self.physicalMillis = physicalMillis
        try Self.migrator.migrate(writer)
        let (lastLocal, loadedVector, loadedFloor, epoch) = try writer.write { db -> (UInt64?, VersionVector, VersionVector, String?) in
            if let stored = try String.fetchOne(db, sql: "SELECT value FROM node_meta WHERE key = 'node_name'") {
                guard stored == nodeName else { throw StoreError.nodeNameMismatch(stored: stored, given: nodeName) }
            } else {
                try db.execute(sql: "INSERT INTO node_meta (key, value) VALUES ('node_name', ?)", arguments: [nodeName])
            }
            var epoch: String?
            if persistent {
                let clean = try String.fetchOne(db, sql: "SELECT value FROM node_meta WHERE key = 'clean_shutdown'") == "1"
                epoch = try String.fetchOne(db, sql: "SELECT value FROM node_meta WHERE key = 'epoch'")
                if epoch == nil || !clean {
                    var rng = SystemRandomNumberGenerator()
                    epoch = String(RecordID.generate(using: &rng).prefix(8))
                }
                try db.execute(sql: "INSERT OR REPLACE INTO node_meta (key, value) VALUES ('epoch', ?), ('clean_shutdown', '0')", arguments: [epoch])
            }
            // What this replica holds: the compacted prefix, every change in the log and every
            // change those stand for (their covered numbers).
            let floor = try Self.loadFloor(db)
            var vector = floor
            let rows = try Row.fetchCursor(db, sql: "SELECT origin, seq, covers FROM changes ORDER BY origin, seq")
            while let row = try rows.next() {
                let origin: String = row[0]
                let seq = UInt64(row[1] as Int64)
                vector.insert(origin: origin, seq: seq)
                for covered in try CoversCodec.decode((row[2] as Data?).map { Array($0) }, below: seq) { vector.insert(origin: origin, seq: covered) }
            }
            // Compaction removes changes, so the newest stamp issued is also kept aside.
            let logged = try Int64.fetchOne(db, sql: "SELECT MAX(hlc) FROM changes").map { UInt64(bitPattern: $0) } ?? 0
            let kept = try String.fetchOne(db, sql: "SELECT value FROM node_meta WHERE key = 'max_hlc'").flatMap { UInt64($0) } ?? 0
            return (max(logged, kept), vector, floor, epoch)
        }
        self.origin = epoch.map { "\(nodeName)~\($0)" } ?? nodeName
        self.vector = Mutex(loadedVector)
        self.floor = Mutex(loadedFloor)
        var hlc = HybridLogicalClock(maxDriftMillis: maxDriftMillis)
        hlc.advance(toAtLeast: HLCTimestamp(rawValue: lastLocal ?? 0))
        self.clock = Mutex(hlc)
    }

    /// Wall-clock milliseconds since the Unix epoch.
    public static let systemMillis: @Sendable () -> UInt64 = {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }

    /// A value stored in `node_meta`, creating it with `make()` on first use (e.g. a secret).
    public func metaValue(_ key: String, orCreate make: @escaping @Sendable () -> String) throws -> String {
        try writer.write { db in
            if let value = try String.fetchOne(db, sql: "SELECT value FROM node_meta WHERE key = ?", arguments: [key]) {
                return value
            }
            let value = make()
            try db.execute(sql: "INSERT INTO node_meta (key, value) VALUES (?, ?)", arguments: [key, value])
            return value
        }
    }

    /// Records that the node is stopping cleanly: the next open keeps this epoch (``origin``), and
    /// empties the write-ahead log into the database file. Call it last, after every write has
    /// completed.
    public func markCleanShutdown() throws {
        try writer.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO node_meta (key, value) VALUES ('clean_shutdown', '1')")
        }
        // Everything into the database file and the log emptied, so a stopped node's folder is
        // just its database (the process may exit without closing its connections, and only the
        // last connection to close would do this). Best effort: a reader still open keeps it.
        _ = try? writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Registers `observer` to be called after every committed change, local or remote, in
    /// commit order (on the database's writer thread: it must return quickly).
    public func onCommit(_ observer: @escaping @Sendable (CommittedChange) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Registers `observer` to be called after every committed transaction that changed what a
    /// client sees of some records (local writes, device syncs and replicated batches alike), with
    /// one event per changed record, in commit order. It runs on the database's writer thread:
    /// it must return quickly (hand the events to another task).
    public func onRecordEvents(_ observer: @escaping @Sendable ([RecordEvent]) -> Void) {
        eventObservers.withLock { $0.append(observer) }
    }

    /// True when someone listens for record events (so a write need not build them otherwise).
    var wantsRecordEvents: Bool { !eventObservers.withLock { $0.isEmpty } }

    /// Delivers `events` to the record-event observers once the current transaction commits.
    func publishAfterCommit(_ db: Database, _ events: [RecordEvent]) {
        guard !events.isEmpty else { return }
        hooks.add(db) {
            for observer in self.eventObservers.withLock({ $0 }) { observer(events) }
        }
    }

    /// Issues the stamp of a local write.
    func nextStamp() -> Stamp {
        let now = physicalMillis()
        return Stamp(hlc: clock.withLock { $0.now(physicalMillis: now) }, node: origin)
    }
}

/// A change that has just been committed to this replica.
public struct CommittedChange: Sendable, Equatable {
    public let origin: String
    public let seq: UInt64
    public let collection: String
    public let recordID: String
    /// True when this node originated it (a local write).
    public let isLocal: Bool
    /// What the write changed: for a local write its own delta (the logged change may carry
    /// earlier writes to the record merged in), for a remote one the change's delta.
    public let delta: RecordState
    /// The lineage it belongs to (``Change/owner``).
    public let owner: String

    public init(origin: String, seq: UInt64, collection: String, recordID: String, isLocal: Bool, delta: RecordState, owner: String = "") {
        self.owner = owner
        self.origin = origin
        self.seq = seq
        self.collection = collection
        self.recordID = recordID
        self.isLocal = isLocal
        self.delta = delta
    }
}

extension StoaDatabase {
    /// The node name a database file was created for, read without opening it for writing;
    /// nil when the file does not exist or holds none yet.
    public static func storedNodeName(path: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        return try queue.read { db in
            guard try db.tableExists("node_meta") else { return nil }
            return try String.fetchOne(db, sql: "SELECT value FROM node_meta WHERE key = 'node_name'")
        }
    }
}
