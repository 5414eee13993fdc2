/// One data node as the gateway sees it: what membership says, whether the gateway itself has
/// ejected it, and its traffic figures.
public struct UpstreamNode: Sendable {
    /// What membership (SWIM) says about the node.
    public enum Membership: String, Sendable, Codable { case alive, suspect, dead }

    public let name: String
    /// The node's HTTP base URL (`http://127.0.0.1:8091`), from its announced meta.
    public var url: String
    public var membership: Membership
    /// Set at once when a request to the node fails to connect or is cut off (passive check);
    /// cleared only when membership says alive and `GET /api/health` answers 200.
    public var ejected: Bool
    /// Monotonic nanoseconds since which ``membership`` has held (when the gateway learned the
    /// node or membership last changed its state); nil when the updates carried no time.
    public var membershipSince: UInt64?
    /// Monotonic nanoseconds of the last active health check (`GET /api/health`, made only
    /// while the node is ejected) and whether it passed; nil when none was made.
    public var lastActiveCheck: UInt64?
    public var lastActiveCheckPassed: Bool?
    /// Monotonic nanoseconds of the last passive failure (a request that could not connect or
    /// was cut off, which ejects the node); their count is ``errors``.
    public var lastPassiveFailure: UInt64?
    public var inFlight = 0
    public var requests = 0
    public var errors = 0
    var recent = RateWindow()
    var latencies = LatencyWindow()

    public init(name: String, url: String, membership: Membership, ejected: Bool) {
        self.name = name
        self.url = url
        self.membership = membership
        self.ejected = ejected
    }

    /// Ends a request on this node: counts it, records its latency, and on a connection failure
    /// ejects the node (unless its URL changed meanwhile: the failure was the old address's).
    mutating func finished(_ lease: NodePool.Lease, outcome: NodePool.Outcome, now: UInt64) {
        inFlight -= 1
        requests += 1
        recent.record(now: now)
        switch outcome {
        case .answered:
            latencies.record(nanos: now &- lease.startedAt)
        case .connectionFailed:
            errors += 1
            lastPassiveFailure = now
            if url == lease.url { ejected = true }
        }
    }

    /// Routable: alive or suspect in membership and not ejected. Suspicion is often a false
    /// alarm (SWIM), and the passive check ejects a node that really is gone at its first failure.
    public var routable: Bool { membership != .dead && !ejected }
}
