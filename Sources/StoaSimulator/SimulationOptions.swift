/// How to run one simulation beyond what the scenario says.
public struct SimulationOptions: Sendable, Equatable {
    /// Fault injection: this node merges remote changes with ``FlippedTieBreakMerge`` (the
    /// LWW tie-break between equal HLCs reversed). A correct simulator MUST then report a
    /// violation for scenarios that produce ties.
    public var flippedTieBreakNode: String?
    /// Keep the trace lines in the result (otherwise only their hash and count).
    public var keepTrace: Bool
    /// A safety valve against runaway runs: the run fails after this many events.
    public var maxEvents: Int

    public init(flippedTieBreakNode: String? = nil, keepTrace: Bool = false, maxEvents: Int = 20_000_000) {
        self.flippedTieBreakNode = flippedTieBreakNode
        self.keepTrace = keepTrace
        self.maxEvents = maxEvents
    }
}
