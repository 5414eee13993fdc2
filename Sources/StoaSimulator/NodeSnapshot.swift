import StoaCore
import StoaGossip
import StoaStore

/// What one node holds at the end of a run, read through the store's public API and the
/// SWIM instance's view.
struct NodeSnapshot {
    var name: String
    var up: Bool
    var digest: String
    /// Every live quote, ordered by id.
    var rows: [StoredRecord]
    var vector: VersionVector
    /// The node's own changes by sequence number.
    var ownChanges: [UInt64: Change]
    /// How the node's SWIM instance sees every other node (`nil`: unknown).
    var membership: [String: MemberStatus?]
    var counters: NodeCounters
}
