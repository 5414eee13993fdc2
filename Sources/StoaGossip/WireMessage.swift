import StoaCore

/// Everything nodes send each other over the cluster transport.
public enum WireMessage: Sendable, Hashable {
    /// A membership message (usually over UDP).
    case swim(SWIMEnvelope)
    /// A version vector: "this is what I have; send me what I lack" (anti-entropy request).
    case vector(from: String, VersionVector)
    /// Changes pushed or sent in answer to a vector, optionally with the sender's vector.
    case changes(from: String, [Change], vector: VersionVector?)
    /// A batch of a state transfer, sent in answer to a vector that lacks changes the sender
    /// no longer keeps as log.
    case snapshot(from: String, SnapshotBatch)
    /// The first frame of every stream connection: a tiny sealed frame that proves the sender
    /// holds the cluster key before the receiver accepts frames larger than its
    /// unauthenticated limit. Carries the sender's node name and nothing else.
    case hello(from: String)
    /// Failed logins a node saw since its last report, one entry per failure, each the SHA-256
    /// of the lower-cased identity (no email crosses the wire): the others slow down guessing
    /// of those accounts too, whichever node the next attempt reaches. Not stored, not relayed.
    case loginFailures(from: String, [[UInt8]])
    /// A gateway's rate-limit admissions since its last report (sent to the other gateways every
    /// few tens of milliseconds, empty when it admitted nothing): each receiver charges them to
    /// its own limiter, so a policy holds for all gateways together. Not stored, not relayed.
    case limits(from: String, [LimitReportEntry])
}

/// Requests one gateway admitted under one rate-limit policy and key since its last report.
public struct LimitReportEntry: Sendable, Hashable {
    /// The policy's name (policies are matched by name across gateways).
    public var policy: String
    /// The limiter key: a user id, a client address, or `*` for a global policy.
    public var key: String
    public var count: UInt64

    public init(policy: String, key: String, count: UInt64) {
        self.policy = policy
        self.key = key
        self.count = count
    }
}
