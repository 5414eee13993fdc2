import Foundation
import GRDB
import StoaCore

extension StoaDatabase {
    /// The replica's version vector: every (origin, seq) committed here. Kept in memory and
    /// updated after each commit, so it never claims a change that is not on disk.
    public func versionVector() -> VersionVector {
        vector.withLock { $0 }
    }

    /// The highest sequence number this node has given to its own writes.
    public var localSequence: UInt64 { versionVector().entries[origin]?.contiguous ?? 0 }

    /// This node's own changes with sequence numbers in `seqs` that the log still holds, in
    /// order (a change superseded by a later one of the same record, or compacted, is absent).
    public func localChanges(_ seqs: ClosedRange<UInt64>) async throws -> [Change] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, collection, record_id, delta, covers, owner FROM changes WHERE origin = ? AND seq BETWEEN ? AND ? ORDER BY seq",
                arguments: [self.origin, Int64(clamping: seqs.lowerBound), Int64(clamping: seqs.upperBound)]
            ).map { row in try self.change(row, origin: self.origin) }
        }
    }

    /// A `changes` row selected as (seq, collection, record_id, delta, covers, owner).
    func change(_ row: Row, origin: String) throws -> Change {
        let seq = UInt64(row[0] as Int64)
        return Change(
            origin: origin, seq: seq, collection: row[1], recordID: row[2], delta: try decodeState(row[3] as Data),
            covers: try CoversCodec.decode((row[4] as Data?).map { Array($0) }, below: seq), owner: row[5]
        )
    }

    /// Changes this replica has that `vector` does not cover, in (origin, seq) order, at most `limit`.
    public func changes(notIn vector: VersionVector, limit: Int = 1000) async throws -> [Change] {
        try await writer.read { db in
            var out: [Change] = []
            let origins = self.versionVector().entries.keys.sorted()
            for origin in origins where out.count < limit {
                let floor = vector.entries[origin]?.contiguous ?? 0
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT seq, collection, record_id, delta, covers, owner FROM changes WHERE origin = ? AND seq > ? ORDER BY seq",
                    arguments: [origin, Int64(clamping: floor)]
                )
                while out.count < limit, let row = try rows.next() {
                    let seq = UInt64(row[0] as Int64)
                    guard !vector.contains(origin: origin, seq: seq) else { continue }
                    out.append(try self.change(row, origin: origin))
                }
            }
            return out
        }
    }

    /// Merges a batch of changes from other replicas in one transaction. Changes already present
    /// are skipped, so applying a batch twice changes nothing. Returns the records whose state
    /// changed (the live ones as now materialized).
    ///
    /// Changes stamped more than the drift bound ahead of local time are rejected: they are
    /// skipped and reported in ``RemoteApplyResult/rejectedForDrift``.
    ///
    /// - Parameter merge: how a change's delta is merged into the record's current state. The
    ///   default, ``RecordState/merged(_:)``, is the only correct one; another is passed only to
    ///   inject a fault (the simulator's deliberately broken merge) and check that it is caught.
    public func apply(
        remote changes: [Change],
        merge: @escaping @Sendable (_ current: RecordState, _ delta: RecordState) -> RecordState = { $0.merged($1) }
    ) async throws -> RemoteApplyResult {
        try await writer.write { db in
            var result = RemoteApplyResult()
            // Already committed (the in-memory vector) or already in this batch: skip cheaply.
            let committed = self.versionVector()
            var inBatch = Set<ChangeKey>()
            // Each changed record's state before the batch and after it, for one event per record.
            var before: [RecordKey: RecordState?] = [:]
            var after: [(key: RecordKey, schema: CollectionSchema, state: RecordState)] = []
            for change in changes {
                guard let schema = CollectionSchema.named(change.collection) else { result.unknownCollection += 1; continue }
                let key = ChangeKey(origin: change.origin, seq: change.seq)
                guard !committed.contains(origin: change.origin, seq: change.seq), inBatch.insert(key).inserted else {
                    result.duplicates += 1
                    continue
                }
                let now = self.physicalMillis()
                do {
                    try self.clock.withLock { clock in _ = try clock.receive(change.stamp.hlc, physicalMillis: now) }
                } catch {
                    result.rejectedForDrift += 1
                    continue
                }
                // A users record is its own lineage; a change without an owner (none is sent so)
                // belongs to the lineage its delta names.
                let owner = schema.ownerField == "id" ? change.recordID
                    : change.owner.isEmpty ? schema.owner(of: change.delta, id: change.recordID) : change.owner
                var filed = change
                filed.owner = owner
                let loggedBefore = try self.loggedChanges(db, collection: change.collection, id: change.recordID)
                try self.insertChange(db, filed, owner: owner, logged: loggedBefore)
                // What it covers is held now too: an older change of the batch it covers is skipped.
                for seq in change.covers { inBatch.insert(ChangeKey(origin: change.origin, seq: seq)) }
                let outcome = try self.mergeLineage(db, schema: schema, id: change.recordID, owner: owner, delta: change.delta, merge: merge)
                // The record's state row exists now (merging saved it, or it was there).
                try self.noteLogged(db, collection: change.collection, id: change.recordID, before: loggedBefore, origin: change.origin, owner: owner, seq: change.seq)
                if outcome.hidden { result.hidden += 1 }
                guard outcome.changed else { continue }
                let record = RecordKey(collection: change.collection, id: change.recordID)
                if before[record] == nil { before[record] = .some(outcome.before) }
                after.append((record, schema, outcome.after))
                result.applied.append(AppliedChange(collection: change.collection, id: change.recordID, live: outcome.after.isLive))
            }
            if self.wantsRecordEvents {
                // One event per record, from its state before the batch to its last state in it.
                var last: [RecordKey: Int] = [:]
                for (index, entry) in after.enumerated() { last[entry.key] = index }
                let events = after.indices.compactMap { index -> RecordEvent? in
                    let entry = after[index]
                    guard last[entry.key] == index, let previous = before[entry.key] else { return nil }
                    return RecordEvent.between(previous, entry.state, schema: entry.schema, id: entry.key.id)
                }
                self.publishAfterCommit(db, events)
            }
            return result
        }
    }

    /// A digest of every record's CRDT state; two replicas with equal digests hold equal data.
    public func digest() async throws -> String {
        try await writer.read { db in
            var hasher = DigestHasher()
            for schema in CollectionSchema.all.sorted(by: { $0.name < $1.name }) {
                let rows = try Row.fetchCursor(db, sql: schema.storedStateSelect + " WHERE r.collection = ? ORDER BY r.id", arguments: [schema.name])
                while let row = try rows.next() {
                    let state = try self.storedState(row, schema: schema)
                    hasher.combine(row[0] as String)
                    hasher.combine(row[1] as String)
                    hasher.combine(String(decoding: try Self.canonicalEncoder.encode(state), as: UTF8.self))
                }
            }
            // Hidden lineages too: equal digests mean equal lineages, visible or not.
            let rivals = try Row.fetchCursor(db, sql: "SELECT collection, id, owner, state FROM record_rivals ORDER BY collection, id, owner")
            while let row = try rivals.next() {
                hasher.combine("rival")
                for column in 0..<3 { hasher.combine(row[column] as String) }
                hasher.combine(String(decoding: try Self.canonicalEncoder.encode(try self.decodeState(row[3] as Data)), as: UTF8.self))
            }
            return hasher.hex
        }
    }

    static let canonicalEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
}

struct RecordKey: Hashable {
    let collection: String
    let id: String
}

struct ChangeKey: Hashable {
    let origin: String
    let seq: UInt64
}

/// What ``StoaDatabase/apply(remote:)`` did with a batch.
public struct RemoteApplyResult: Sendable, Equatable {
    public var applied: [AppliedChange] = []
    public var duplicates = 0
    public var rejectedForDrift = 0
    public var unknownCollection = 0
    /// Changes merged into (or that made) a hidden lineage: a create of an existing id by
    /// another user, and that user's writes to it (see ``StoaDatabase/mergeLineage``).
    public var hidden = 0
}

/// A record whose state a remote change altered.
public struct AppliedChange: Sendable, Equatable {
    public var collection: String
    public var id: String
    public var live: Bool
}

/// 64-bit FNV-1a over length-prefixed strings: stable across processes and platforms (unlike
/// `Hasher`), enough to compare replicas (not a security primitive).
struct DigestHasher {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func combine(_ text: String) {
        for byte in String(text.utf8.count).utf8 { mix(byte) }
        mix(0x3A)
        for byte in text.utf8 { mix(byte) }
    }

    private mutating func mix(_ byte: UInt8) {
        state ^= UInt64(byte)
        state = state &* 0x100_0000_01b3
    }

    var hex: String {
        let text = String(state, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
