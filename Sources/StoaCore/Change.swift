/// One write as it travels between replicas: the delta it made to one record, numbered in the
/// sequence of the node that originated it.
public struct Change: Hashable, Sendable, Codable {
    /// The node that originated the write.
    public var origin: String
    /// The write's number in the origin's sequence (1, 2, 3, ...; never reused).
    public var seq: UInt64
    /// `users` or `quotes`.
    public var collection: String
    public var recordID: String
    /// The delta state; applying the change is merging it.
    public var delta: RecordState

    public init(origin: String, seq: UInt64, collection: String, recordID: String, delta: RecordState) {
        self.origin = origin
        self.seq = seq
        self.collection = collection
        self.recordID = recordID
        self.delta = delta
    }

    /// The write's stamp (the HLC reading and node it was made at).
    public var stamp: Stamp { delta.touched }
}
