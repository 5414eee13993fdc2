import Foundation
import GRDB
import StoaCore

// MARK: - Loading and materializing record state

extension StoaDatabase {
    /// The CRDT state of a record (its visible lineage), or nil when none was ever created or
    /// received.
    func loadState(_ db: Database, collection: String, id: String) throws -> RecordState? {
        try loadVisible(db, collection: collection, id: id)?.state
    }

    /// A record's visible lineage: its state and the owner the lineage is filed under.
    func loadVisible(_ db: Database, collection: String, id: String) throws -> (state: RecordState, owner: String)? {
        guard let schema = CollectionSchema.named(collection),
              let row = try Row.fetchOne(db.cachedStatement(sql: schema.storedStateSelect + " WHERE r.collection = ? AND r.id = ?"), arguments: [collection, id])
        else { return nil }
        return (try storedState(row, schema: schema), row[3])
    }

    /// The state of a row selected with ``CollectionSchema/storedStateSelect``.
    func storedState(_ row: Row, schema: CollectionSchema) throws -> RecordState {
        try decodeStoredState(row[2] as Data, schema: schema, row: row, offset: 4)
    }

    /// Stores a record's visible state (without the values its materialized row holds, when
    /// live: see ``encodeStoredState(_:schema:)``), filed under its lineage's `owner`. The caller
    /// materializes the same state in the same transaction.
    ///
    /// - Parameter logged: when given, also the record's ``LoggedChanges`` (else they are kept).
    func saveState(_ db: Database, collection: String, id: String, state: RecordState, owner: String, logged: LoggedChanges? = nil) throws {
        guard let schema = CollectionSchema.named(collection) else { return }
        let encoded = Self.encodeStoredState(state, schema: schema)
        if let logged {
            try db.cachedStatement(
                sql: "INSERT INTO record_state (collection, id, state, owner, live, logged) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (collection, id) DO UPDATE SET state = excluded.state, owner = excluded.owner, live = excluded.live, logged = excluded.logged"
            ).execute(arguments: [collection, id, encoded, owner, state.isLive ? 1 : 0, logged.stored.map { Data($0) }])
        } else {
            try db.cachedStatement(
                sql: "INSERT INTO record_state (collection, id, state, owner, live) VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection, id) DO UPDATE SET state = excluded.state, owner = excluded.owner, live = excluded.live"
            ).execute(arguments: [collection, id, encoded, owner, state.isLive ? 1 : 0])
        }
    }

    /// Which changes of record `id` the log holds (see ``LoggedChanges``); none without a state.
    func loggedChanges(_ db: Database, collection: String, id: String) throws -> LoggedChanges {
        let stored = try Data.fetchOne(db.cachedStatement(sql: "SELECT logged FROM record_state WHERE collection = ? AND id = ?"), arguments: [collection, id])
        return LoggedChanges(stored: stored.map { Array($0) })
    }

    /// Stores that the log took change `seq` of `origin` to lineage `owner` of record `id`, whose
    /// state row exists (saved in this transaction); `before` is what ``loggedChanges(_:collection:id:)``
    /// read before the change.
    func noteLogged(_ db: Database, collection: String, id: String, before: LoggedChanges, origin: String, owner: String, seq: UInt64) throws {
        let after = before.noting(origin: origin, owner: owner, seq: seq, floor: floorVector())
        guard after != before else { return }
        try db.cachedStatement(sql: "UPDATE record_state SET logged = ? WHERE collection = ? AND id = ?")
            .execute(arguments: [after.stored.map { Data($0) }, collection, id])
    }

    /// Writes the materialized row of a record from its state: upserted when live, removed when
    /// deleted.
    func materialize(_ db: Database, schema: CollectionSchema, id: String, state: RecordState) throws {
        guard let field = schema.uniqueField else { return try writeRow(db, schema: schema, id: id, state: state) }
        // The unique value the record claimed before and the one it claims now: who holds each
        // may change.
        let previous = try String.fetchOne(
            db.cachedStatement(sql: "SELECT \"claimed\(field.capitalizedFirst)\" FROM \(schema.name) WHERE id = ?"), arguments: [id]
        ) ?? ""
        try writeRow(db, schema: schema, id: id, state: state)
        let claim = state.isLive ? Self.columnText(state[field]) : ""
        for value in Set([previous, claim].filter { !$0.isEmpty }.map { $0.lowercased() }).sorted() {
            try Self.resolveUnique(db, schema: schema, value: value)
        }
    }

    /// Upserts the record's row from its state (removes it when deleted).
    private func writeRow(_ db: Database, schema: CollectionSchema, id: String, state: RecordState) throws {
        guard state.isLive else {
            try db.cachedStatement(sql: "DELETE FROM \(schema.name) WHERE id = ?").execute(arguments: [id])
            return
        }
        var arguments: [(any DatabaseValueConvertible)?] = [id]
        for field in schema.fields {
            switch field.kind {
            case .text:
                arguments.append(Self.columnText(state[field.name]))
            case .bool:
                arguments.append(state[field.name] == .bool(true) ? 1 : 0)
            case .tags:
                let tags = state.orderedTags
                arguments.append(tags.isEmpty ? "[]" : String(decoding: try encoder.encode(tags), as: UTF8.self))
            }
        }
        arguments.append(Self.columnText(state["created"]))
        arguments.append(PocketBaseDate.format(millis: state.touched.hlc.millis))
        try db.cachedStatement(sql: schema.upsertSQL).execute(arguments: StatementArguments(arguments))
        if let field = schema.uniqueField {
            try db.cachedStatement(sql: "UPDATE \(schema.name) SET \"claimed\(field.capitalizedFirst)\" = \"\(field)\" WHERE id = ?").execute(arguments: [id])
        }
    }

    /// Gives a unique value (an email, compared without case) to one record: of the live records
    /// claiming it, the earliest created (then the smallest id) shows it in its column; the others
    /// show it empty and keep their claim. A function of the records alone, so every replica that
    /// holds the same records picks the same holder, whatever the partitions were when they
    /// signed up (DESIGN notes: one account per email).
    static func resolveUnique(_ db: Database, schema: CollectionSchema, value: String) throws {
        guard let field = schema.uniqueField else { return }
        let claimed = "claimed\(field.capitalizedFirst)"
        try db.cachedStatement(sql: """
            UPDATE \(schema.name) SET "\(field)" = CASE WHEN id = (
                SELECT id FROM \(schema.name) WHERE "\(claimed)" = ?1 COLLATE NOCASE ORDER BY created, id LIMIT 1
            ) THEN "\(claimed)" ELSE '' END
            WHERE "\(claimed)" = ?1 COLLATE NOCASE
            """).execute(arguments: [value])
    }

    static func columnText(_ value: FieldValue?) -> String {
        switch value {
        case .string(let text): return text
        case .number(let number): return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .strings(let list): return list.joined(separator: ",")
        case .null, nil: return ""
        }
    }

    /// Decodes a materialized row selected with ``CollectionSchema/columns``.
    func storedRecord(_ row: Row, schema: CollectionSchema) throws -> StoredRecord {
        var values: [String: FieldValue] = [:]
        var tags: [String] = []
        for (index, field) in schema.fields.enumerated() {
            let column = index + 1
            switch field.kind {
            case .text: values[field.name] = .string(row[column])
            case .bool: values[field.name] = .bool((row[column] as Int64) != 0)
            case .tags: tags = try Self.decodeTags(row[column])
            }
        }
        let count = schema.columns.count
        return StoredRecord(
            collection: schema.name, id: row[0], values: values, tags: tags,
            created: row[count - 2], updated: row[count - 1]
        )
    }

    /// The tags column (a JSON array of strings). `JSONSerialization` reads it in half the time
    /// `JSONDecoder` takes, which showed in list requests (30 rows each).
    static func decodeTags(_ text: String) throws -> [String] {
        if text == "[]" { return [] }
        guard let tags = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "tags column is not an array of strings"))
        }
        return tags
    }

    /// The record a local write just materialized from `state` (in this transaction): built from
    /// the state, as its row was (``writeRow(_:schema:id:state:)``), without reading the row back;
    /// read back when the schema has a unique field, whose column the record may not hold
    /// (``resolveUnique(_:schema:value:)``).
    func writtenRecord(_ db: Database, schema: CollectionSchema, id: String, state: RecordState) throws -> StoredRecord {
        if schema.uniqueField == nil, state.isLive { return StoredRecord(schema: schema, id: id, state: state) }
        guard let record = try fetchRecord(db, schema: schema, id: id) else { throw StoreError.notFound }
        return record
    }

    func fetchRecord(_ db: Database, schema: CollectionSchema, id: String) throws -> StoredRecord? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(schema.selectList) FROM \(schema.name) WHERE id = ?"), arguments: [id]) else {
            return nil
        }
        return try storedRecord(row, schema: schema)
    }
}

// MARK: - Local writes

extension StoaDatabase {
    /// Commits one local write: issues a stamp, builds the delta over the current state, merges
    /// it, materializes the record and appends the change, all in the caller's transaction.
    /// `filedUnder`: the owner the record's visible lineage is filed under (``loadVisible(_:collection:id:)``),
    /// nil for a record with no state yet.
    @discardableResult
    func commitLocal(
        _ db: Database, schema: CollectionSchema, id: String,
        current: RecordState, filedUnder: String?, makeDelta: (RecordState, Stamp) -> RecordState
    ) throws -> RecordState {
        try commitDelta(db, schema: schema, id: id, current: current, filedUnder: filedUnder, delta: makeDelta(current, nextStamp()))
    }

    /// Merges `delta` into a record's `current` state as a write this node originates: saves and
    /// materializes the result, appends the change with the node's next sequence number and
    /// publishes the record event after commit. The caller has checked `merged != current` when
    /// an unchanged record must not be logged.
    ///
    /// The log keeps one change per record and origin: when this node's log still holds an
    /// earlier change of its own to the record, the new change carries that one's delta merged
    /// in and covers its number (and what it covered), and the earlier one leaves the log
    /// (``Change/covers``).
    @discardableResult
    func commitDelta(
        _ db: Database, schema: CollectionSchema, id: String, current: RecordState, filedUnder: String?, delta: RecordState
    ) throws -> RecordState {
        let merged = current.merged(delta)
        // A local write goes to the visible lineage, filed under its owner (which its state may
        // not name yet: an edit or delete can arrive before the create); a create, to the owner
        // it names. Taking the owner from the merged state instead would re-file a lineage whose
        // create has not arrived under "" on this node only.
        let owner = filedUnder ?? schema.owner(of: merged, id: id)
        // Numbers stay dense: after the newest change of ours in the log (this transaction's
        // included), or after the compacted prefix when the log holds none.
        let newest = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(seq) FROM changes WHERE origin = ?"), arguments: [origin]).map { UInt64($0) } ?? 0
        let seq = max(newest, floorVector().entries[origin]?.contiguous ?? 0) + 1
        var change = Change(origin: origin, seq: seq, collection: schema.name, recordID: id, delta: delta, owner: owner)
        // No state row (a create): no logged change of the record either.
        let logged = filedUnder == nil ? LoggedChanges() : try loggedChanges(db, collection: schema.name, id: id)
        if let previous = try loggedChange(db, in: logged, origin: origin, collection: schema.name, recordID: id, owner: owner) {
            change.delta = previous.delta.merged(delta)
            change.covers = previous.covers + [previous.seq]
        }
        try insertChange(db, change, owner: owner, logged: logged, ownDelta: delta)
        let nowLogged = logged.noting(origin: origin, owner: owner, seq: seq, floor: floorVector())
        try saveState(db, collection: schema.name, id: id, state: merged, owner: owner, logged: nowLogged)
        try materialize(db, schema: schema, id: id, state: merged)
        if wantsRecordEvents, let event = RecordEvent.between(current, merged, schema: schema, id: id) {
            publishAfterCommit(db, [event])
        }
        return merged
    }

    /// The newest change of `origin` to a record's lineage `owner` the log holds, or nil: the
    /// one `logged` names, when it is still in the log.
    func loggedChange(_ db: Database, in logged: LoggedChanges, origin: String, collection: String, recordID: String, owner: String) throws -> Change? {
        guard let seq = logged.seq(origin: origin, owner: owner),
              let row = try Row.fetchOne(
                  db.cachedStatement(sql: "SELECT delta, covers, collection, record_id, owner FROM changes WHERE origin = ? AND seq = ?"),
                  arguments: [origin, Int64(seq)]
              ),
              row[2] as String == collection, row[3] as String == recordID, row[4] as String == owner
        else { return nil }
        return Change(
            origin: origin, seq: seq, collection: collection, recordID: recordID, delta: try decodeState(row[0] as Data),
            covers: try CoversCodec.decode((row[1] as Data?).map { Array($0) }, below: seq), owner: owner
        )
    }

    /// Appends a change to the log, filed under the id of the user who owns the record (for
    /// ``syncPage(owner:since:limit:)``), and removes the changes of its origin to the record it
    /// covers that `logged` (the record's, read before) names; after commit its number and
    /// covered numbers count as present. Covered numbers at or below the floor are dropped (the
    /// floor holds them). The caller then records the change in the record's ``LoggedChanges``.
    /// Returns the encoded delta (callers may reuse it).
    ///
    /// A covered change `logged` does not name can only be one every member held when its origin
    /// compacted (the bounded-history check allows it): compaction removes it.
    ///
    /// - Parameter ownDelta: for a local write, the write's own delta (observers get it; the
    ///   logged delta may have earlier writes merged in).
    @discardableResult
    func insertChange(_ db: Database, _ change: Change, owner: String, logged: LoggedChanges, ownDelta: RecordState? = nil) throws -> Data {
        let floorMark = floorVector().entries[change.origin]?.contiguous ?? 0
        let covers = change.covers.filter { $0 > floorMark }
        let committed = CommittedChange(
            origin: change.origin, seq: change.seq, collection: change.collection, recordID: change.recordID,
            isLocal: change.origin == origin, delta: ownDelta ?? change.delta, owner: change.owner
        )
        hooks.add(db) {
            self.vector.withLock { vector in
                vector.insert(origin: committed.origin, seq: committed.seq)
                for seq in covers { vector.insert(origin: committed.origin, seq: seq) }
            }
            for observer in self.observers.withLock({ $0 }) { observer(committed) }
        }
        if !covers.isEmpty {
            // Only changes it covers: the log may hold another of the origin's changes to the
            // record that is not (the origin compacted its own before writing this one).
            let covered = Set(covers)
            for seq in logged.seqs(origin: change.origin) where covered.contains(seq) {
                try db.cachedStatement(sql: "DELETE FROM changes WHERE origin = ? AND seq = ? AND collection = ? AND record_id = ?")
                    .execute(arguments: [change.origin, Int64(seq), change.collection, change.recordID])
            }
        }
        let encoded = Self.encodeState(change.delta)
        try db.cachedStatement(
            sql: "INSERT INTO changes (origin, seq, hlc, collection, record_id, delta, owner, covers) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [
            change.origin, Int64(change.seq), Int64(bitPattern: change.stamp.hlc.rawValue),
            change.collection, change.recordID, encoded, owner, CoversCodec.encode(covers).map { Data($0) },
        ])
        return encoded
    }

    /// Creates a record. `fields` holds the collection's field values (validated by the caller);
    /// `unique` names fields whose value must not already be used by a live record.
    ///
    /// - Throws: ``StoreError/idTaken`` when the id exists or existed; ``StoreError/notUnique(field:)``.
    public func create(
        _ schema: CollectionSchema, id: String, fields: [String: FieldValue], tags: [String] = [], unique: [String] = []
    ) async throws -> StoredRecord {
        try await batcher.write { db in
            guard try self.loadState(db, collection: schema.name, id: id) == nil else { throw StoreError.idTaken }
            for name in unique {
                let value = Self.columnText(fields[name])
                if try Bool.fetchOne(db, sql: "SELECT 1 FROM \(schema.name) WHERE \"\(name)\" = ? COLLATE NOCASE LIMIT 1", arguments: [value]) == true {
                    throw StoreError.notUnique(field: name)
                }
            }
            let state = try self.commitLocal(db, schema: schema, id: id, current: RecordState(), filedUnder: nil) { current, stamp in
                var values = fields
                values["created"] = .string(PocketBaseDate.format(millis: stamp.hlc.millis))
                return .createDelta(fields: values, tags: tags, stamp: stamp, over: current)
            }
            return try self.writtenRecord(db, schema: schema, id: id, state: state)
        }
    }

    /// Updates the given fields of a live record (and its tags when `tags` is non-nil). When
    /// `owner` is non-nil the record's owner field must equal it.
    ///
    /// - Throws: ``StoreError/notFound`` when there is no such live record the owner may see.
    public func update(
        _ schema: CollectionSchema, id: String, owner: String?, fields: [String: FieldValue], tags: TagEdit? = nil,
        unique: [String] = []
    ) async throws -> StoredRecord {
        try await batcher.write { db in
            guard let existing = try self.fetchRecord(db, schema: schema, id: id), Self.owns(owner, existing, schema),
                  let (current, filed) = try self.loadVisible(db, collection: schema.name, id: id)
            else { throw StoreError.notFound }
            for name in unique {
                let value = Self.columnText(fields[name])
                if fields[name] != nil, try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM \(schema.name) WHERE \"\(name)\" = ? COLLATE NOCASE AND id != ? LIMIT 1", arguments: [value, id]
                ) == true {
                    throw StoreError.notUnique(field: name)
                }
            }
            let state = try self.commitLocal(db, schema: schema, id: id, current: current, filedUnder: filed) { current, stamp in
                .updateDelta(fields: fields, tagEdit: tags, stamp: stamp, over: current)
            }
            return try self.writtenRecord(db, schema: schema, id: id, state: state)
        }
    }

    /// Deletes a live record (its state is kept, so a restore or a late remote edit merges
    /// correctly). Returns the record as it was.
    ///
    /// - Throws: ``StoreError/notFound`` when there is no such live record the owner may see.
    @discardableResult
    public func delete(_ schema: CollectionSchema, id: String, owner: String?) async throws -> StoredRecord {
        try await batcher.write { db in
            guard let existing = try self.fetchRecord(db, schema: schema, id: id), Self.owns(owner, existing, schema),
                  let (current, filed) = try self.loadVisible(db, collection: schema.name, id: id)
            else { throw StoreError.notFound }
            try self.commitLocal(db, schema: schema, id: id, current: current, filedUnder: filed) { current, stamp in
                .deleteDelta(stamp: stamp, over: current)
            }
            return existing
        }
    }

    /// Restores a deleted record (the app's trash). When `owner` is non-nil the record's owner
    /// field must equal it.
    ///
    /// - Throws: ``StoreError/notFound`` when no deleted record with that id belongs to the owner.
    public func restore(_ schema: CollectionSchema, id: String, owner: String?) async throws -> StoredRecord {
        try await batcher.write { db in
            guard let (current, filed) = try self.loadVisible(db, collection: schema.name, id: id), !current.isLive,
                  owner == nil || Self.columnText(current[schema.ownerField] ?? (schema.ownerField == "id" ? .string(id) : nil)) == owner
            else { throw StoreError.notFound }
            let state = try self.commitLocal(db, schema: schema, id: id, current: current, filedUnder: filed) { current, stamp in
                .restoreDelta(stamp: stamp, over: current)
            }
            return try self.writtenRecord(db, schema: schema, id: id, state: state)
        }
    }

    static func owns(_ owner: String?, _ record: StoredRecord, _ schema: CollectionSchema) -> Bool {
        guard let owner else { return true }
        return schema.ownerField == "id" ? record.id == owner : record.text(schema.ownerField) == owner
    }
}
