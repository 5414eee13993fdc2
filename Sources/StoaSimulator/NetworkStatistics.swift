/// What the simulated network did with the messages of a run.
public struct NetworkStatistics: Sendable, Equatable {
    /// Messages handed to the network (duplicates not counted).
    public var sent = 0
    /// Bytes handed to the network.
    public var bytes = 0
    /// Lost to the loss probability.
    public var lost = 0
    /// Dropped because the link was cut when sent or when due.
    public var cut = 0
    /// Extra copies delivered.
    public var duplicated = 0
    /// Held back to be reordered.
    public var reordered = 0
    /// Copies that reached a running node.
    public var delivered = 0
    /// Copies that arrived at a crashed node.
    public var toDownNode = 0

    public init() {}

    mutating func add(_ other: NetworkStatistics) {
        sent += other.sent
        bytes += other.bytes
        lost += other.lost
        cut += other.cut
        duplicated += other.duplicated
        reordered += other.reordered
        delivered += other.delivered
        toDownNode += other.toDownNode
    }
}
