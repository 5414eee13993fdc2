/// Timing and batching of replication between peers (DESIGN.md, "Spread").
public struct ReplicationConfiguration: Sendable {
    /// How often anti-entropy runs with one random live peer.
    public var antiEntropyIntervalMillis: UInt64 = 2000
    /// The most changes one push or one anti-entropy answer SHOULD carry; longer runs of
    /// sequence numbers are split into ranges of at most this many.
    public var maxBatch: Int = 500
    /// How long a pull (our vector sent, changes streaming back) counts as in flight: while one
    /// does, the driver starts no pull from another peer (nor from a peer still streaming a
    /// state transfer).
    public var pullWindowMillis: UInt64 = 3000
    /// How often the log is compacted: changes every member holds leave it (``ReplicationMachine/stablePoint(own:now:)``).
    public var compactionIntervalMillis: UInt64 = 10_000
    /// A member dead for longer than this stops holding compaction back; if it returns it is
    /// caught up by state transfer. 72 hours by default.
    public var deadMemberHorizonMillis: UInt64 = 72 * 3_600_000
    /// Most record states one state-transfer batch carries.
    public var snapshotBatch: Int = 500

    public init() {}
}
