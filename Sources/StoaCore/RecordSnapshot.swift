/// One record's whole replicated state, as a state transfer sends it: a record's merged state
/// is itself a valid delta, so a replica merges it like any change.
public struct RecordSnapshot: Hashable, Sendable {
    /// `users` or `quotes`.
    public var collection: String
    public var recordID: String
    public var state: RecordState

    public init(collection: String, recordID: String, state: RecordState) {
        self.collection = collection
        self.recordID = recordID
        self.state = state
    }
}
