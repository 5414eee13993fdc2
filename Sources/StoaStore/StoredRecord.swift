import StoaCore

/// A live record as the API shows it: system fields plus the collection's field values.
public struct StoredRecord: Sendable, Equatable {
    public let collection: String
    public let id: String
    /// Field values by name; text fields are `.string`, booleans `.bool`. Tags are in ``tags``.
    public var values: [String: FieldValue]
    /// The record's tags, in the order a client last wrote them (see ``RecordState/orderedTags``).
    public var tags: [String]
    public var created: String
    public var updated: String

    public init(collection: String, id: String, values: [String: FieldValue], tags: [String], created: String, updated: String) {
        self.collection = collection
        self.id = id
        self.values = values
        self.tags = tags
        self.created = created
        self.updated = updated
    }

    /// The text of a field, `""` when unset.
    public func text(_ field: String) -> String { values[field]?.text ?? "" }
}
