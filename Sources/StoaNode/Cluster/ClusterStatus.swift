import StoaCore
import StoaGossip

/// `GET /api/cluster`: this node's view of membership and replication.
public struct ClusterStatus: Encodable, Sendable {
    public struct MemberView: Encodable, Sendable {
        public let name: String
        public let address: String
        public let status: String
        public let incarnation: UInt64
        public let http: String
        /// How many of this node's own changes the member is known to lack (nil: not heard yet).
        public let lag: UInt64?
    }

    public struct VectorEntry: Codable, Sendable {
        public let contiguous: UInt64
        /// Sequence numbers seen above `contiguous` (non-empty only while a gap is open).
        public let above: [UInt64]
    }

    public struct Counters: Encodable, Sendable {
        public let unauthenticatedMessages: Int
        public let malformedMessages: Int
        public let changesApplied: Int
        public let changesRejectedForDrift: Int
        public let sendFailures: Int
        /// Pushes not queued because the peer was not reading (anti-entropy repairs them).
        public let droppedPushes: Int
        public let refusedConnections: Int
        /// What the gossip transport refused or closed since start, by reason (the labels of
        /// `stoa_cluster_messages_rejected_total`, and `idle_closed`).
        public let transport: [String: Int]
        /// Inbound stream connections open now, and bytes they hold in incomplete frames.
        public let unauthenticatedConnections: Int
        public let authenticatedConnections: Int
        public let incompleteFrameBytes: Int
        /// State transfers sent to peers that lacked changes below our floor, and received.
        public let stateTransfersSent: Int
        public let stateTransfersReceived: Int
        /// Changes compacted out of the log since start.
        public let compactedChanges: Int
        /// Remote changes kept in a hidden lineage: a create of an existing quote id by another
        /// user, and that user's writes to it (owners are fixed at creation).
        public let hiddenLineageChanges: Int
    }

    /// Ids of the cluster keys this node holds (``ClusterKey/idHex``): the primary it seals
    /// with and every key it accepts, primary first. Never the keys themselves.
    public struct KeyView: Encodable, Sendable {
        public let primary: String
        public let accepted: [String]
    }

    public let node: String
    public let clusterKeys: KeyView
    /// The origin of this node's changes in version vectors (name and data-folder epoch).
    public let origin: String
    public let gossip: String
    public let incarnation: UInt64
    public let localHealth: Int
    public let members: [MemberView]
    public let versionVector: [String: VectorEntry]
    /// The log's compacted prefix per origin: changes up to it are held but no longer logged.
    public let logFloor: [String: UInt64]
    public let localSequence: UInt64
    public let counters: Counters
    /// Digest of all record states; present when asked for with `?digest=1`.
    public var digest: String?
}

extension ClusterNode {
    /// A consistent snapshot of membership, vector, lag and counters.
    public func status() -> ClusterStatus {
        let vector = database.versionVector()
        let local = vector.entries[database.origin]?.contiguous ?? 0
        // A member that left is gone from the list (SWIM still remembers it for a while).
        let members = (swim?.members ?? []).filter { $0.status != .left }.map { member in
            ClusterStatus.MemberView(
                name: member.id.name, address: "\(member.id.host):\(member.id.port)", status: member.status.rawValue,
                incarnation: member.incarnation, http: member.meta,
                lag: replication.vector(of: member.id.name).map { local - min(local, $0.entries[database.origin]?.contiguous ?? 0) }
            )
        }
        let open = streamRegistry.openConnections
        return ClusterStatus(
            node: database.nodeName,
            clusterKeys: .init(primary: sealer.keyring.primary.idHex, accepted: sealer.keyring.keys.map(\.idHex)),
            origin: database.origin,
            gossip: "\(configuration.gossipHost):\(gossipPort ?? configuration.gossipPort)",
            incarnation: swim?.incarnation ?? 0,
            localHealth: swim?.localHealth ?? 0,
            members: members,
            versionVector: vector.entries.mapValues { ClusterStatus.VectorEntry(contiguous: $0.contiguous, above: $0.extra.sorted()) },
            logFloor: database.floorVector().entries.mapValues(\.contiguous),
            localSequence: local,
            counters: .init(
                unauthenticatedMessages: transportCounters.count(.authentication), malformedMessages: transportCounters.count(.malformed),
                changesApplied: counters.applied, changesRejectedForDrift: counters.driftRejected, sendFailures: counters.sendFailures,
                droppedPushes: counters.droppedPushes, refusedConnections: transportCounters.count(.connectionLimit),
                transport: transportCounters.all, unauthenticatedConnections: open.unauthenticated,
                authenticatedConnections: open.authenticated, incompleteFrameBytes: frameBudget.bytesHeld,
                stateTransfersSent: counters.stateTransfersSent, stateTransfersReceived: counters.stateTransfersReceived,
                compactedChanges: counters.compactedChanges, hiddenLineageChanges: counters.hiddenLineageChanges
            ),
            digest: nil
        )
    }
}
