/// One write as it travels between replicas: the delta it made to one record, numbered in the
/// sequence of the node that originated it.
///
/// A change may stand for earlier writes of the same origin to the same record as well: when an
/// origin writes a record again, its new change carries the delta of the earlier one merged in
/// and lists the earlier one's number (and what that one stood for) in ``covers``, and the
/// earlier change leaves the log. Holding a change therefore means holding every write it
/// covers: a replica that receives it counts `seq` and every number in `covers` as present.
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
    /// Earlier numbers of the same origin whose writes (all to this record and ``owner``)
    /// ``delta`` includes, ascending, each below ``seq``.
    public var covers: [UInt64]
    /// The lineage the write belongs to: for a quote, the user whose create established the
    /// record where the write was made (a concurrent create of the same id by another user is
    /// another lineage, kept apart; see ``RecordState/ownerField``); for a user, its own id.
    public var owner: String

    public init(
        origin: String, seq: UInt64, collection: String, recordID: String, delta: RecordState, covers: [UInt64] = [], owner: String = ""
    ) {
        self.origin = origin
        self.seq = seq
        self.collection = collection
        self.recordID = recordID
        self.delta = delta
        self.covers = covers
        self.owner = owner
    }

    /// The write's stamp (the HLC reading and node it was made at).
    public var stamp: Stamp { delta.touched }
}
