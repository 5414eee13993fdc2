import StoaCore

/// The receiving side of state transfers (``SnapshotBatch``), as a pure state machine: it
/// records which batches of which transfer have been merged and says when one is complete, so
/// the receiver may count the transfer's floor as present.
///
/// Batches may arrive late, twice or out of order (the simulator's network does that); a
/// transfer is complete once every index `0...last` of it has been merged. Transfers that do
/// not complete within ``timeoutMillis`` of their last batch are forgotten (the sender starts a
/// new one at the next anti-entropy round), and at most ``maxTransfers`` are tracked at once.
public struct StateTransferAssembly: Sendable {
    struct Key: Hashable, Sendable {
        var sender: String
        var id: UInt64
    }

    struct Progress: Sendable {
        var received: Set<UInt64> = []
        var last: UInt64?
        var floor: VersionVector
        var heardAt: UInt64
    }

    public static let timeoutMillis: UInt64 = 60_000
    public static let maxTransfers = 16
    var transfers: [Key: Progress] = [:]

    public init() {}

    /// Batch `batch` from `sender` has been merged. Returns the transfer's floor when this
    /// completes it (once), nil otherwise.
    public mutating func merged(_ batch: SnapshotBatch, from sender: String, now: UInt64) -> VersionVector? {
        expire(now: now)
        let key = Key(sender: sender, id: batch.id)
        var progress = transfers[key] ?? Progress(floor: batch.floor, heardAt: now)
        guard progress.floor == batch.floor else { return nil }   // not one transfer: ignore
        progress.received.insert(batch.index)
        progress.heardAt = now
        if batch.isLast { progress.last = batch.index }
        if let last = progress.last, progress.received.count == Int(last) + 1, (0...last).allSatisfy(progress.received.contains) {
            transfers[key] = nil
            return progress.floor
        }
        if transfers[key] == nil, transfers.count >= Self.maxTransfers,
           let oldest = transfers.min(by: { ($0.value.heardAt, $0.key.sender, $0.key.id) < ($1.value.heardAt, $1.key.sender, $1.key.id) })?.key {
            transfers[oldest] = nil
        }
        transfers[key] = progress
        return nil
    }

    /// Transfers in progress.
    public var inProgress: Int { transfers.count }

    mutating func expire(now: UInt64) {
        transfers = transfers.filter { now < $0.value.heardAt &+ Self.timeoutMillis }
    }
}
