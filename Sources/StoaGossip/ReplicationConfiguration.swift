/// Timing and batching of replication between peers (DESIGN.md, "Spread").
public struct ReplicationConfiguration: Sendable {
    /// How often anti-entropy runs with one random live peer.
    public var antiEntropyIntervalMillis: UInt64 = 2000
    /// The most changes one push or one anti-entropy answer SHOULD carry; longer runs of
    /// sequence numbers are split into ranges of at most this many.
    public var maxBatch: Int = 500
    /// How long a pull (our vector sent, changes streaming back) counts as in flight: while one
    /// does, the driver starts no pull from another peer.
    public var pullWindowMillis: UInt64 = 3000

    public init() {}
}
