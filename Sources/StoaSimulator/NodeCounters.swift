/// What one simulated node counted during a run (the simulator's view of the node's metrics).
public struct NodeCounters: Sendable, Equatable {
    /// Remote changes that altered a record.
    public var applied = 0
    /// Remote changes already present.
    public var duplicates = 0
    /// Remote changes rejected because they were stamped beyond the drift bound.
    public var driftRejected = 0
    /// Messages that failed to decode or came on the wrong channel.
    public var malformed = 0
    /// Writes acknowledged to clients.
    public var writesAcknowledged = 0
    /// Writes the store refused (no such live record, id taken).
    public var writesRefused = 0
    /// Writes sent while the node was down.
    public var writesUnavailable = 0
    public var crashes = 0
    /// Changes compacted out of the log.
    public var compacted = 0
    /// State transfers sent, and completed on this node.
    public var stateTransfersSent = 0
    public var stateTransfersReceived = 0
    /// Remote changes kept in a hidden lineage (a rival create of an id, and its writes).
    public var hidden = 0

    public init() {}
}
