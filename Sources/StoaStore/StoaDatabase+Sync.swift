import Foundation
import GRDB
import StoaCore

extension StoaDatabase {
    /// A page of `owner`'s quotes changed since `position`: at most `limit` records, in id order.
    ///
    /// A first page fixes the sync's target (this node's version vector); the following pages
    /// send the records changed between `since` and that target with ids after the last one sent,
    /// so each record comes once, as it is now. The last page's cursor is `since ∪ target`.
    /// A position from another node works: if this node lacks part of its target, the sync
    /// restarts towards this node's own vector (records may then come again, never go missing).
    ///
    /// Changes at or below the log's floor are no longer in the log: a position whose `since`
    /// does not cover the floor (a first sync, or a device offline for longer than the log
    /// remembers) gets every record of its user instead, live ones in full and deleted ones by
    /// id, paged the same way.
    public func syncPage(owner: String, since position: SyncPosition, limit: Int = 500) async throws -> SyncPage {
        // Read before the snapshot opens, so everything it claims is in the snapshot.
        let covered = versionVector()
        let full = !position.since.dominates(floorVector())
        let resume = position.target.map(covered.dominates) ?? false
        let target = resume ? position.target ?? covered : covered
        let after = resume ? position.after : nil
        let since = position.since
        let schema = CollectionSchema.quotes
        return try await writer.read { db in
            var changed = Set<String>()
            if full {
                // Live records through their rows, deleted ones through the owner they are filed under.
                let ids = try String.fetchAll(
                    db, sql: """
                        SELECT id FROM quotes WHERE userId = ? AND id > ?
                        UNION ALL SELECT id FROM record_state WHERE collection = 'quotes' AND live = 0 AND owner = ? AND id > ?
                        UNION ALL SELECT id FROM record_rivals WHERE collection = 'quotes' AND owner = ? AND id > ?
                        ORDER BY id LIMIT ?
                        """,
                    arguments: [owner, after ?? "", owner, after ?? "", owner, after ?? "", limit + 1]
                )
                changed.formUnion(ids)
            }
            for origin in target.entries.keys.sorted() where !full {
                let rows = try Row.fetchCursor(
                    db,
                    sql: "SELECT seq, record_id FROM changes WHERE owner = ? AND collection = ? AND origin = ? AND seq > ? AND record_id > ?",
                    arguments: [owner, schema.name, origin, Int64(clamping: since.entries[origin]?.contiguous ?? 0), after ?? ""]
                )
                while let row = try rows.next() {
                    let seq = UInt64(row[0] as Int64)
                    if !since.contains(origin: origin, seq: seq), target.contains(origin: origin, seq: seq) { changed.insert(row[1]) }
                }
            }
            let ids = changed.sorted()
            let hasMore = ids.count > limit
            let pageIDs = ids.prefix(limit)
            var page = SyncPage(
                records: [], deleted: [],
                cursor: hasMore ? SyncPosition(since: since, target: target, after: pageIDs.last) : SyncPosition(since: since.merged(target)),
                hasMore: hasMore
            )
            for id in pageIDs {
                guard let (state, lineage) = try self.loadVisible(db, collection: schema.name, id: id) else { continue }
                // A record whose visible lineage is another user's (this user's create of the id
                // lost to an earlier one) is gone for this user.
                if state.isLive, lineage == owner {
                    page.records.append(StoredRecord(schema: schema, id: id, state: state))
                } else {
                    page.deleted.append(id)
                }
            }
            return page
        }
    }

    /// How far ahead of this node's wall clock a device's edit may be stamped and keep its own
    /// time (see ``applyDeviceEdits(_:owner:)``).
    public static let deviceLeadToleranceMillis: UInt64 = 1000

    /// Merges a device's offline edits to `owner`'s quotes, in one transaction, under the same
    /// CRDT rules as every write, with the device's stamps (see ``DeviceEdit``). Edits that change
    /// a record are logged as this node's changes and replicate like any write; edits already
    /// merged change nothing, so resending a batch is harmless.
    ///
    /// A device's time orders its edits but never moves this node's clock: one user's wrong
    /// clock must not skew the stamps of everyone else's writes. An edit stamped at most
    /// ``deviceLeadToleranceMillis`` ahead of this node's wall clock keeps the device's stamp
    /// (so a resent batch is a no-op); one further ahead (but within the drift bound) is
    /// re-stamped with this node's next clock reading, as if made now (keeping the device in the
    /// stamp's node, and the batch's order among such edits): a device clock that runs ahead
    /// cannot make its edits win over edits made after them. Such a re-stamped edit, if sent
    /// again, is merged again as a new edit of the same values. An edit stamped beyond the drift
    /// bound is refused.
    ///
    /// - Throws: ``DeviceEditError`` for the first edit that cannot be applied; nothing is written.
    public func applyDeviceEdits(_ edits: [DeviceEdit], owner: String) async throws -> DeviceSyncResult {
        let schema = CollectionSchema.quotes
        return try await writer.write { db in
            var result = DeviceSyncResult()
            var touched: [String] = []
            var final: [String: RecordState] = [:]
            let stamps = try self.deviceStamps(edits)
            for (index, var edit) in edits.enumerated() {
                edit.stamp = stamps[index]
                let current = try final[edit.id] ?? self.loadState(db, collection: schema.name, id: edit.id)
                let exists = current.map { $0.length != .absent } ?? false
                // Another user's record, or an id only known from replicated edits whose create has
                // not arrived yet (it cannot be claimed, as a plain create cannot claim it either).
                if let current, !exists || schema.owner(of: current, id: edit.id) != owner {
                    throw DeviceEditError(index: index, reason: .notFound)
                }
                let base = current ?? RecordState()
                let delta: RecordState?
                switch edit.operation {
                case .upsert(var fields, let tags) where !exists:
                    guard case .string(let content)? = fields["content"], !content.isEmpty else {
                        throw DeviceEditError(index: index, reason: .required("content"))
                    }
                    fields[schema.ownerField] = .string(owner)
                    fields["created"] = .string(PocketBaseDate.format(millis: edit.stamp.hlc.millis))
                    let createTags: [String]
                    switch tags {
                    case nil: createTags = []
                    case .assign(let list): createTags = list
                    case .modify(let add, let remove): createTags = add.filter { !remove.contains($0) }
                    }
                    delta = .createDelta(fields: fields, tags: createTags, stamp: edit.stamp, over: base)
                case .upsert(let fields, let tags):
                    delta = .updateDelta(fields: fields, tagEdit: tags, stamp: edit.stamp, over: base)
                case .delete, .restore:
                    guard exists else { throw DeviceEditError(index: index, reason: .notFound) }
                    if base.lengthStamp >= edit.stamp {
                        // A delete or restore made at or after this one has decided the record's
                        // state already (or this very edit, resent): the later one stands.
                        delta = nil
                    } else if edit.operation == .delete {
                        delta = base.isLive ? .deleteDelta(stamp: edit.stamp, over: base) : nil
                    } else {
                        delta = base.isLive ? nil : .restoreDelta(stamp: edit.stamp, over: base)
                    }
                }
                if !touched.contains(edit.id) { touched.append(edit.id) }
                guard let delta, base.merged(delta) != base else {
                    result.unchanged += 1
                    final[edit.id] = base
                    continue
                }
                // A record this user may edit is filed under them (checked above, or created now).
                final[edit.id] = try self.commitDelta(db, schema: schema, id: edit.id, current: base, filedUnder: owner, delta: delta)
                result.applied += 1
            }
            for id in touched {
                guard let state = final[id] else { continue }
                if state.isLive {
                    result.records.append(StoredRecord(schema: schema, id: id, state: state))
                } else {
                    result.deleted.append(id)
                }
            }
            return result
        }
    }

    /// The stamps `edits` are merged with: the device's own, or (for an edit stamped more than
    /// ``deviceLeadToleranceMillis`` ahead of the wall clock) this node's next readings, issued
    /// in the order of the devices' stamps. The clock only issues readings; it never takes a
    /// device's time.
    ///
    /// - Throws: ``DeviceEditError/Reason/timeInFuture`` for an edit beyond the drift bound.
    func deviceStamps(_ edits: [DeviceEdit]) throws -> [Stamp] {
        let now = physicalMillis()
        let drift = clock.withLock { $0.maxDriftMillis }
        var stamps = edits.map(\.stamp)
        var ahead: [Int] = []
        for (index, stamp) in stamps.enumerated() {
            if stamp.hlc.millis > now &+ drift { throw DeviceEditError(index: index, reason: .timeInFuture) }
            if stamp.hlc.millis > now &+ Self.deviceLeadToleranceMillis { ahead.append(index) }
        }
        guard !ahead.isEmpty else { return stamps }
        ahead.sort { stamps[$0] < stamps[$1] }
        clock.withLock { clock in
            for index in ahead { stamps[index].hlc = clock.now(physicalMillis: now) }
        }
        return stamps
    }
}
