/// One record's whole replicated state, as a state transfer sends it: a record's merged state
/// is itself a valid delta, so a replica merges it like any change.
public struct RecordSnapshot: Hashable, Sendable {
    /// `users` or `quotes`.
    public var collection: String
    public var recordID: String
    public var state: RecordState
    /// The lineage (``Change/owner``) this state belongs to: a record may have hidden lineages
    /// beside the visible one, and a transfer sends each.
    public var owner: String

    public init(collection: String, recordID: String, state: RecordState, owner: String = "") {
        self.collection = collection
        self.recordID = recordID
        self.state = state
        self.owner = owner
    }
}
