import Foundation
import GRDB
import StoaCore

extension StoaDatabase {
    /// A page of the records of `owner`'s quotes changed since `since`: at most `limit` records.
    ///
    /// Changes are scanned in (origin, seq) order; the returned cursor covers what was scanned,
    /// so paging never skips a change, and a cursor from another node works (changes it covers
    /// that this node lacks are kept covered; changes this node has that it lacks are sent).
    public func syncPage(owner: String, since: VersionVector, limit: Int = 500) async throws -> SyncPage {
        // Read before the snapshot opens, so everything it claims is in the snapshot.
        let covered = versionVector()
        let schema = CollectionSchema.quotes
        return try await writer.read { db in
            var ids: [String] = []
            var seen = Set<String>()
            var stop: (origin: String, seq: UInt64)?
            scan: for origin in covered.entries.keys.sorted() {
                let rows = try Row.fetchCursor(
                    db,
                    sql: "SELECT seq, record_id FROM changes WHERE owner = ? AND collection = ? AND origin = ? AND seq > ? ORDER BY seq",
                    arguments: [owner, schema.name, origin, Int64(since.entries[origin]?.contiguous ?? 0)]
                )
                while let row = try rows.next() {
                    let seq = UInt64(row[0] as Int64)
                    let id: String = row[1]
                    guard !since.contains(origin: origin, seq: seq), !seen.contains(id) else { continue }
                    if ids.count == limit {
                        stop = (origin, seq - 1)
                        break scan
                    }
                    seen.insert(id)
                    ids.append(id)
                }
            }
            var page = SyncPage(records: [], deleted: [], cursor: since, hasMore: stop != nil)
            if let stop {
                page.cursor.merge(covered.prefix(through: stop.origin, seq: stop.seq))
            } else {
                page.cursor.merge(covered)
            }
            for id in ids {
                guard let state = try self.loadState(db, collection: schema.name, id: id) else { continue }
                if state.isLive {
                    page.records.append(StoredRecord(schema: schema, id: id, state: state))
                } else {
                    page.deleted.append(id)
                }
            }
            return page
        }
    }

    /// Merges a device's offline edits to `owner`'s quotes, in one transaction, under the same
    /// CRDT rules as every write, with the device's stamps (see ``DeviceEdit``). Edits that change
    /// a record are logged as this node's changes and replicate like any write; edits already
    /// merged change nothing, so resending a batch is harmless.
    ///
    /// - Throws: ``DeviceEditError`` for the first edit that cannot be applied; nothing is written.
    public func applyDeviceEdits(_ edits: [DeviceEdit], owner: String) async throws -> DeviceSyncResult {
        let schema = CollectionSchema.quotes
        return try await writer.write { db in
            var result = DeviceSyncResult()
            var touched: [String] = []
            var final: [String: RecordState] = [:]
            for (index, edit) in edits.enumerated() {
                let current = try final[edit.id] ?? self.loadState(db, collection: schema.name, id: edit.id)
                let exists = current.map { $0.length != .absent } ?? false
                // Another user's record, or an id only known from replicated edits whose create has
                // not arrived yet (it cannot be claimed, as a plain create cannot claim it either).
                if let current, !exists || schema.owner(of: current, id: edit.id) != owner {
                    throw DeviceEditError(index: index, reason: .notFound)
                }
                do {
                    let now = self.physicalMillis()
                    try self.clock.withLock { clock in _ = try clock.receive(edit.stamp.hlc, physicalMillis: now) }
                } catch {
                    throw DeviceEditError(index: index, reason: .timeInFuture)
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
                    if edit.operation == .delete {
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
                final[edit.id] = try self.commitDelta(db, schema: schema, id: edit.id, current: base, delta: delta)
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
}
