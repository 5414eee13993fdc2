import StoaCore

/// What a committed write did to a record, as realtime subscribers see it.
public enum RecordAction: String, Sendable, Equatable {
    /// The record became live (created, or restored from the trash).
    case create
    /// A live record changed and is still live.
    case update
    /// A live record was deleted.
    case delete
}

/// One record a committed transaction changed, local or replicated: the action, the record as
/// now merged (for a delete, as it was last), and the user who owns it.
public struct RecordEvent: Sendable, Equatable {
    public let action: RecordAction
    public let record: StoredRecord
    /// The owning user's id (`userId` of a quote, the id of a user).
    public let owner: String

    public init(action: RecordAction, record: StoredRecord, owner: String) {
        self.action = action
        self.record = record
        self.owner = owner
    }

    /// The event for a record whose state went from `before` to `after`; nil when the change is
    /// invisible (a deleted record stayed deleted, or nothing changed).
    static func between(_ before: RecordState?, _ after: RecordState, schema: CollectionSchema, id: String) -> RecordEvent? {
        let wasLive = before?.isLive ?? false
        let action: RecordAction
        switch (wasLive, after.isLive) {
        case (false, true): action = .create
        case (true, true): action = .update
        case (true, false): action = .delete
        case (false, false): return nil
        }
        guard before != after else { return nil }
        return RecordEvent(action: action, record: StoredRecord(schema: schema, id: id, state: after), owner: schema.owner(of: after, id: id))
    }
}

extension CollectionSchema {
    /// The id of the user who owns a record in this state ("" when the state does not name one).
    public func owner(of state: RecordState, id: String) -> String {
        ownerField == "id" ? id : StoaDatabase.columnText(state[ownerField])
    }
}

extension StoredRecord {
    /// The record as its state materializes it: the same values the collection's row holds.
    init(schema: CollectionSchema, id: String, state: RecordState) {
        var values: [String: FieldValue] = [:]
        for field in schema.fields {
            switch field.kind {
            case .text: values[field.name] = .string(StoaDatabase.columnText(state[field.name]))
            case .bool: values[field.name] = .bool(state[field.name] == .bool(true))
            case .tags: break
            }
        }
        self.init(
            collection: schema.name, id: id, values: values, tags: schema.tagsField == nil ? [] : state.orderedTags,
            created: StoaDatabase.columnText(state["created"]), updated: PocketBaseDate.format(millis: state.touched.hlc.millis)
        )
    }
}
