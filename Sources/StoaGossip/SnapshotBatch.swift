import StoaCore

/// One message of a state transfer (DESIGN notes, "Bounded history"): a batch of whole record
/// states a sender streams to a peer that lacks changes the sender no longer keeps as log.
///
/// A transfer is the batches `0...last` of one ``id`` from one sender; each carries the
/// ``floor`` the whole transfer stands for: the sender's compacted prefix, read before the
/// first batch. Only a receiver that merged every batch of the transfer may count the floor's
/// changes as present (``StateTransferAssembly``).
public struct SnapshotBatch: Sendable, Hashable {
    /// The sender's number for this transfer (new for every transfer it starts).
    public var id: UInt64
    /// The batch's position in the transfer, from 0.
    public var index: UInt64
    /// True on the transfer's last batch.
    public var isLast: Bool
    /// What the complete transfer stands for: every change up to these numbers.
    public var floor: VersionVector
    public var records: [RecordSnapshot]

    public init(id: UInt64, index: UInt64, isLast: Bool, floor: VersionVector, records: [RecordSnapshot]) {
        self.id = id
        self.index = index
        self.isLast = isLast
        self.floor = floor
        self.records = records
    }
}
