import StoaCore
import StoaGossip
import StoaStore

/// What one node holds at the end of a run, read through the store's public API and the
/// SWIM instance's view.
/// One change in a node's log, as the bounded-history check sees it.
struct LogEntry: Hashable {
    var origin: String
    var seq: UInt64
    var collection: String
    var recordID: String
    var owner: String
}

struct NodeSnapshot {
    var name: String
    var up: Bool
    /// It left the cluster gracefully during the run.
    var hasLeft: Bool
    var digest: String
    /// Every live quote, ordered by id.
    var rows: [StoredRecord]
    var vector: VersionVector
    /// The changes the node's log holds (without their deltas), and the log's compacted prefix:
    /// for the bounded-history check.
    var log: [LogEntry]
    var logFloor: VersionVector
    /// Every account's email claim and what its row shows.
    var emailClaims: [(id: String, claimed: String, shown: String)]
    /// The same for `_superusers`.
    var superuserClaims: [(id: String, claimed: String, shown: String)]
    /// How the node's SWIM instance sees every other node (`nil`: unknown).
    var membership: [String: MemberStatus?]
    var counters: NodeCounters
}
