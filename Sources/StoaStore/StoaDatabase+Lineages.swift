import Foundation
import GRDB
import StoaCore

// MARK: - Lineages: an owner is fixed at creation

/// What merging one delta into a record's lineages did (``StoaDatabase/mergeLineage(_:schema:id:owner:delta:merge:)``).
struct LineageMerge {
    /// The visible state before and after (nil: no record before).
    var before: RecordState?
    var after: RecordState
    /// The delta went to a hidden lineage (a concurrent create of the id by another user).
    var hidden: Bool
    /// Anything changed (visible or hidden).
    var changed: Bool
}

extension StoaDatabase {
    /// The lineage a delta of a local write belongs to: the owner of the record it is applied to
    /// (for a create, the owner it creates the record for).
    func lineageOwner(schema: CollectionSchema, id: String, state: RecordState) -> String {
        schema.owner(of: state, id: id)
    }

    /// Merges `delta`, a write of lineage `owner`, into record `id`.
    ///
    /// A quote belongs to the user whose create established it: the lineage with the earliest
    /// create (``RecordState/establishedAt``; ties by owner) is the record everyone sees. A
    /// create of the same id by another user, and every write made in that user's name, go to
    /// a lineage of their own (`record_rivals`), kept (so every replica merges the same way
    /// whatever the order) but never shown: they neither change the owner nor write into the
    /// record. Should an earlier create of another lineage arrive later, that lineage becomes
    /// the visible one and the other is hidden. Every replica that merged the same changes shows
    /// the same lineage. The caller logs the change; this saves and materializes.
    ///
    /// - Parameter merge: ``RecordState/merged(_:)`` except for fault injection.
    func mergeLineage(
        _ db: Database, schema: CollectionSchema, id: String, owner: String, delta: RecordState,
        merge: (RecordState, RecordState) -> RecordState = { $0.merged($1) }
    ) throws -> LineageMerge {
        guard let visible = try loadVisible(db, collection: schema.name, id: id) else {
            let state = merge(RecordState(), delta)
            try saveState(db, collection: schema.name, id: id, state: state, owner: owner)
            try materialize(db, schema: schema, id: id, state: state)
            return LineageMerge(before: nil, after: state, hidden: false, changed: true)
        }
        var rivals = try loadRivals(db, schema: schema, id: id)
        var visibleState = visible.state
        var hidden = false
        var changed = false
        if owner == visible.owner {
            let merged = merge(visible.state, delta)
            changed = merged != visible.state
            visibleState = merged
        } else {
            let current = rivals[owner]
            let merged = merge(current ?? RecordState(), delta)
            changed = merged != current
            rivals[owner] = merged
            hidden = true
        }
        guard changed else { return LineageMerge(before: visible.state, after: visible.state, hidden: hidden, changed: false) }
        // The earliest established lineage is the visible one (an unestablished one, with no
        // create merged yet, never beats an established one).
        var winner = (owner: visible.owner, state: visibleState)
        for (candidate, state) in rivals where Self.establishes(state, candidate, before: winner.state, winner.owner) {
            winner = (candidate, state)
        }
        if winner.owner != visible.owner {
            rivals[visible.owner] = visibleState
            rivals[winner.owner] = nil
            try db.cachedStatement(sql: "DELETE FROM record_rivals WHERE collection = ? AND id = ? AND owner = ?")
                .execute(arguments: [schema.name, id, winner.owner])
            hidden = true
        }
        for (rival, state) in rivals where rival != winner.owner {
            try db.cachedStatement(
                sql: "INSERT INTO record_rivals (collection, id, owner, state) VALUES (?, ?, ?, ?) ON CONFLICT (collection, id, owner) DO UPDATE SET state = excluded.state"
            ).execute(arguments: [schema.name, id, rival, Self.encodeState(state)])
        }
        try saveState(db, collection: schema.name, id: id, state: winner.state, owner: winner.owner)
        try materialize(db, schema: schema, id: id, state: winner.state)
        return LineageMerge(before: visible.state, after: winner.state, hidden: hidden, changed: true)
    }

    /// True when lineage (`state`, `owner`) was established before (`other`, `otherOwner`).
    static func establishes(_ state: RecordState, _ owner: String, before other: RecordState, _ otherOwner: String) -> Bool {
        switch (state.establishedAt, other.establishedAt) {
        case (nil, _): return false
        case (_?, nil): return true
        case (let mine?, let theirs?): return (mine, owner) < (theirs, otherOwner)
        }
    }

    /// The hidden lineages of a record, by owner.
    func loadRivals(_ db: Database, schema: CollectionSchema, id: String) throws -> [String: RecordState] {
        var out: [String: RecordState] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT owner, state FROM record_rivals WHERE collection = ? AND id = ?"), arguments: [schema.name, id]) {
            out[row[0]] = try decodeState(row[1] as Data)
        }
        return out
    }

    /// How many records have hidden lineages (concurrent creates of their id by other users).
    public func rivalCount() async throws -> Int {
        try await writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM record_rivals") ?? 0 }
    }
}
