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
    /// A gateway's cache notice to another gateway: the invalidations of one write through it
    /// (to apply and acknowledge before that write is answered), or, with none, a beat that
    /// carries the sequence of its last notice (a receiver that lacks it drops its whole cache).
    /// Not stored, not relayed.
    case cacheNotice(from: String, CacheNotice)
    /// A gateway's answer to a ``cacheNotice(from:_:)`` with invalidations: applied.
    case cacheAck(from: String, epoch: UInt64, sequence: UInt64)
}

/// What one gateway tells another of its writes (see `CacheInvalidationExchange`).
public struct CacheNotice: Sendable, Hashable {
    /// The sender's run (a new random value each start): sequences count within it.
    public var epoch: UInt64
    /// The notice's number in the sender's run (1, 2, …); a beat carries the last one sent.
    public var sequence: UInt64
    /// Empty for a beat.
    public var invalidations: [CacheInvalidation]

    public init(epoch: UInt64, sequence: UInt64, invalidations: [CacheInvalidation]) {
        self.epoch = epoch
        self.sequence = sequence
        self.invalidations = invalidations
    }
}

/// What one write through a gateway may have changed, for the other gateways' caches and their
/// writer affinity.
public struct CacheInvalidation: Sendable, Hashable {
    /// The cache's user: a user's principal, "" for guests.
    public var user: String
    /// The writer-affinity key: the principal, or `address <ip>` for a guest.
    public var writer: String
    /// The collection as the path spelled it.
    public var collection: String
    /// The record written, when the write named one.
    public var recordID: String?
    /// True for a write that may touch any of the user's records in `collection` (`POST /api/sync`).
    public var everyRecord: Bool
    /// The node that took the write ("" when unknown: the node failed).
    public var node: String

    public init(user: String, writer: String, collection: String, recordID: String?, everyRecord: Bool, node: String) {
        self.user = user
        self.writer = writer
        self.collection = collection
        self.recordID = recordID
        self.everyRecord = everyRecord
        self.node = node
    }
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
