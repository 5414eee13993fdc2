import StoaCore

/// One write a client is about to send to one node.
struct PlannedWrite: Sendable {
    var client: Int
    var node: Int
    var kind: OperationKind
    var recordID: String
    /// Text fields to set (create and update).
    var fields: [String: FieldValue]
    /// Tags of a create.
    var tags: [String]
    /// The tag edit of a `tags` write.
    var tagEdit: TagEdit?
    /// Set when the client is a device: its clock offset (the write goes as a device edit).
    var deviceClockOffsetMillis: Int64? = nil
}
