import Foundation
import GRDB
import StoaCore

// MARK: - Bounded history: compaction, the floor, state transfer

extension StoaDatabase {
    /// The write-ahead log's size after a checkpoint (`journal_size_limit`): 4 MiB.
    public static let walSizeLimitBytes = 4 << 20

    /// The log's compacted prefix per origin: every change up to it is held (in the record
    /// states) but no longer in the log. A peer whose vector does not cover it cannot be caught up
    /// from the log (``needsStateTransfer(for:)``).
    public func floorVector() -> VersionVector {
        floor.withLock { $0 }
    }

    /// True when `peer` (a replica's version vector) lacks changes at or below this replica's
    /// floor: they are no longer in the log, so only a state transfer can bring them.
    public func needsStateTransfer(for peer: VersionVector) -> Bool {
        !peer.dominates(floorVector())
    }

    static func loadFloor(_ db: Database) throws -> VersionVector {
        var entries: [String: VersionVector.Entry] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT origin, contiguous FROM log_floor") {
            entries[row[0]] = VersionVector.Entry(contiguous: UInt64(row[1] as Int64))
        }
        return VersionVector(entries: entries)
    }

    /// Raises the floor to `marks` (per origin, contiguous; lower marks are ignored) in the
    /// caller's transaction: writes `log_floor`, removes the log's changes at or below it, and
    /// after commit counts them present in the vector and the in-memory floor.
    ///
    /// - Returns: how many changes left the log.
    @discardableResult
    func raiseFloor(_ db: Database, to marks: VersionVector) throws -> Int {
        let current = floorVector()
        var raised: [String: UInt64] = [:]
        for (origin, entry) in marks.entries where entry.contiguous > (current.entries[origin]?.contiguous ?? 0) {
            raised[origin] = min(entry.contiguous, VersionVector.maxSeq)
        }
        guard !raised.isEmpty else { return 0 }
        var removed = 0
        for (origin, mark) in raised.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: "DELETE FROM changes WHERE origin = ? AND seq <= ?", arguments: [origin, Int64(mark)])
            removed += db.changesCount
            try db.execute(
                sql: "INSERT INTO log_floor (origin, contiguous) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET contiguous = excluded.contiguous",
                arguments: [origin, Int64(mark)]
            )
        }
        // The newest stamp issued survives the changes that carried it.
        let newest = clock.withLock { $0.last.rawValue }
        try db.execute(sql: "INSERT OR REPLACE INTO node_meta (key, value) VALUES ('max_hlc', ?)", arguments: [String(newest)])
        let floorUpdate = VersionVector(entries: raised.mapValues { VersionVector.Entry(contiguous: $0) })
        hooks.add(db) {
            self.floor.withLock { $0.merge(floorUpdate) }
            self.vector.withLock { $0.merge(floorUpdate) }
        }
        return removed
    }

    /// Changes one compaction transaction removes at most (``compact(upTo:chunk:)``).
    public static let compactionChunk = 2_000
    /// Free pages one `incremental_vacuum` transaction gives back at most (4 MiB).
    static let vacuumChunkPages = 1_000

    /// Compacts the log: removes every change at or below `stable` (what every member holds,
    /// ``StoaGossip/ReplicationMachine/stablePoint(own:now:)``; clipped to what this replica
    /// holds itself), raises the floor to it and gives the freed pages back to the file system.
    ///
    /// The work goes in transactions of at most `chunk` changes (the floor rises through
    /// intermediate marks, each one held) and of at most ``vacuumChunkPages`` freed pages, so
    /// writes queued meanwhile run between them: one transaction removing a whole log (tens of
    /// thousands of changes after a burst of writes) held every write back and grew the
    /// write-ahead log by its size.
    ///
    /// - Returns: how many changes left the log.
    @discardableResult
    public func compact(upTo stable: VersionVector, chunk: Int = StoaDatabase.compactionChunk) async throws -> Int {
        precondition(chunk > 0, "chunk must be positive")
        let own = versionVector()
        var marks: [String: UInt64] = [:]
        for (origin, entry) in stable.entries {
            let held = own.entries[origin]?.contiguous ?? 0
            let mark = min(entry.contiguous, held)
            if mark > 0 { marks[origin] = mark }
        }
        var removed = 0
        for (origin, mark) in marks.sorted(by: { $0.key < $1.key }) {
            while (floorVector().entries[origin]?.contiguous ?? 0) < mark {
                removed += try await writer.write { db in
                    let floor = self.floorVector().entries[origin]?.contiguous ?? 0
                    // The mark after at most `chunk` logged changes above the floor.
                    let step = try Int64.fetchOne(
                        db.cachedStatement(sql: "SELECT seq FROM changes WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT 1 OFFSET ?"),
                        arguments: [origin, Int64(floor), Int64(min(mark, VersionVector.maxSeq)), chunk - 1]
                    ).map { UInt64($0) } ?? mark
                    return try self.raiseFloor(db, to: VersionVector(entries: [origin: VersionVector.Entry(contiguous: min(step, mark))]))
                }
            }
        }
        if removed > 0 {
            // Until no free page is left, or a pass frees none (a file without auto-vacuum, which
            // reuses its free pages instead).
            var free = Int.max
            while free > 0 {
                let left = try await writer.writeWithoutTransaction { db -> Int in
                    try db.execute(sql: "PRAGMA incremental_vacuum(\(Self.vacuumChunkPages))")
                    return try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                }
                guard left < free else { break }
                free = left
            }
        }
        return removed
    }

    /// How many changes the log holds now (each stands for itself and what it covers).
    public func logCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM changes") ?? 0 }
    }

    // MARK: - State transfer

    /// Up to `limit` records' states after `position` in (collection, id) order, each with its
    /// hidden lineages, for a state transfer; start with `nil`. `next` is where the following
    /// batch starts, nil after the last record.
    public func recordSnapshots(after position: RecordSnapshot.Position?, limit: Int) async throws -> (records: [RecordSnapshot], next: RecordSnapshot.Position?) {
        try await writer.read { db in
            var out: [RecordSnapshot] = []
            var visible = 0
            var last: RecordSnapshot.Position?
            for schema in CollectionSchema.all.sorted(by: { $0.name < $1.name }) where visible < limit {
                if let position, schema.name < position.collection { continue }
                let after = position.map { $0.collection == schema.name ? $0.recordID : "" } ?? ""
                let rows = try Row.fetchAll(
                    db, sql: schema.storedStateSelect + " WHERE r.collection = ? AND r.id > ? ORDER BY r.id LIMIT ?",
                    arguments: [schema.name, after, limit - visible]
                )
                for row in rows {
                    out.append(RecordSnapshot(collection: schema.name, recordID: row[1], state: try self.storedState(row, schema: schema), owner: row[3]))
                }
                visible += rows.count
                // The hidden lineages of the records of this batch go with them.
                if let first = rows.first, let final = rows.last {
                    last = RecordSnapshot.Position(collection: schema.name, recordID: final[1])
                    for rival in try Row.fetchAll(
                        db, sql: "SELECT id, owner, state FROM record_rivals WHERE collection = ? AND id >= ? AND id <= ? ORDER BY id, owner",
                        arguments: [schema.name, first[1] as String, final[1] as String]
                    ) {
                        out.append(RecordSnapshot(collection: schema.name, recordID: rival[0], state: try self.decodeState(rival[2] as Data), owner: rival[1]))
                    }
                }
            }
            return (out, visible < limit ? nil : last)
        }
    }

    /// Merges whole record states from a state transfer in one transaction, as remote changes
    /// are merged (materialized rows, record events) but without log entries: a state is not a
    /// change of any origin. The changes the transfer stands for count as present only once the
    /// whole transfer has arrived (``adoptFloor(_:)``).
    public func apply(snapshot records: [RecordSnapshot]) async throws -> RemoteApplyResult {
        try await writer.write { db in
            var result = RemoteApplyResult()
            var events: [RecordEvent] = []
            let now = self.physicalMillis()
            for record in records {
                guard let schema = CollectionSchema.named(record.collection) else { result.unknownCollection += 1; continue }
                // Later local writes are stamped after what the state shows (within the drift bound).
                _ = try? self.clock.withLock { clock in try clock.receive(record.state.touched.hlc, physicalMillis: now) }
                let owner = schema.ownerField == "id" ? record.recordID
                    : record.owner.isEmpty ? schema.owner(of: record.state, id: record.recordID) : record.owner
                let outcome = try self.mergeLineage(db, schema: schema, id: record.recordID, owner: owner, delta: record.state)
                if outcome.hidden { result.hidden += 1 }
                guard outcome.changed else { result.duplicates += 1; continue }
                result.applied.append(AppliedChange(collection: record.collection, id: record.recordID, live: outcome.after.isLive))
                if self.wantsRecordEvents, let event = RecordEvent.between(outcome.before, outcome.after, schema: schema, id: record.recordID) {
                    events.append(event)
                }
            }
            self.publishAfterCommit(db, events)
            return result
        }
    }

    /// A complete state transfer stood for every change up to `floor`: they count as present
    /// here now, and the floor is raised to it (the log cannot hold what this replica never got
    /// as changes).
    public func adoptFloor(_ floor: VersionVector) async throws {
        guard floor.isWellFormed else { return }
        try await writer.write { db in _ = try self.raiseFloor(db, to: floor) }
    }
}

extension RecordSnapshot {
    /// Where a state transfer has got to: the last record sent.
    public struct Position: Sendable, Equatable {
        public var collection: String
        public var recordID: String

        public init(collection: String, recordID: String) {
            self.collection = collection
            self.recordID = recordID
        }
    }

    /// The position after this record.
    public var position: Position { Position(collection: collection, recordID: recordID) }
}
