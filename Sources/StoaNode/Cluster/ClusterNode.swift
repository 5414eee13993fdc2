import Dispatch
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle
import StoaCore
import StoaGossip
import StoaStore

/// The network shell of a cluster member: it feeds datagrams, frames, commits and clock ticks
/// into the pure ``SWIMInstance`` and ``ReplicationMachine`` and carries out the directives they
/// return (send a probe, push changes, run anti-entropy) over SwiftNIO.
///
/// Every message is encrypted and sealed for its destination with the primary key of the
/// cluster keyring (``FrameSealer``); one that fails authentication, is a replay, or does not
/// decode is dropped and counted, never trusted. Inbound stream
/// connections are held to ``StreamLimits`` (see ``bind()``).
public actor ClusterNode: Service {
    let configuration: ClusterConfiguration
    let database: StoaDatabase
    let logger: Logger
    nonisolated let sealer: FrameSealer
    /// This node's name: frames are opened as sealed for it.
    nonisolated let myName: String
    let group: MultiThreadedEventLoopGroup

    var swim: SWIMInstance?
    var replication: ReplicationMachine
    var rng = SystemRandomNumberGenerator()
    /// SWIM over UDP (shared with the gateway's membership).
    let datagramLink: SWIMDatagramLink
    /// Inbound stream connections, the bytes they hold in incomplete frames, and what the
    /// transport refused (counted off the actor).
    nonisolated let streamRegistry: StreamConnectionRegistry
    nonisolated let frameBudget: FrameByteBudget
    nonisolated let transportCounters: TransportCounters
    var links: [String: any Channel] = [:]
    var memberIDs: [String: MemberID] = [:]
    /// Peers a ``sendMissing(to:skipEmpty:)`` stream is currently running to.
    var streaming: Set<String> = []
    /// Pulls (our vector sent) still streaming back, by peer, with the time they started.
    var pulls: [String: UInt64] = [:]
    /// Peers streaming a state transfer to us, with the time of their last batch.
    var transferring: [String: UInt64] = [:]
    /// State transfers being received, and the number of the next one we send.
    var transfers = StateTransferAssembly()
    /// Random start: numbers must not repeat across restarts (a peer may still hold an
    /// unfinished transfer of an earlier life of this node).
    var nextSnapshotID = UInt64.random(in: 1...(UInt64.max >> 1))
    /// A compaction is running.
    var compacting = false
    /// Failed logins not yet told to the peers, and where peers' reports go.
    var pendingLoginFailures: [[UInt8]] = []
    var loginFailureSink: (@Sendable ([[UInt8]]) -> Void)?
    /// The gossip port actually bound (known once ``run()`` has bound it).
    public internal(set) var gossipPort: Int?
    var counters = ClusterCounters()

    public init(configuration: ClusterConfiguration, database: StoaDatabase, logger: Logger, group: MultiThreadedEventLoopGroup = .singleton) {
        self.configuration = configuration
        self.database = database
        self.logger = logger
        self.sealer = FrameSealer(keyring: configuration.keyring)
        self.myName = database.nodeName
        self.datagramLink = SWIMDatagramLink(sealer: sealer, myName: database.nodeName, maxDatagramBytes: configuration.maxDatagramBytes)
        let transportCounters = TransportCounters()
        self.transportCounters = transportCounters
        self.streamRegistry = StreamConnectionRegistry(limits: configuration.streamLimits, counters: transportCounters)
        self.frameBudget = FrameByteBudget(limit: configuration.streamLimits.maxIncompleteFrameBytes)
        self.group = group
        self.replication = ReplicationMachine(myself: database.nodeName, configuration: configuration.replication)
    }

    /// The HTTP URL actually served, once the server runs (differs from the configured one for port 0).
    var httpURL: String?

    /// Called once the HTTP server listens: the URL announced to the other members.
    public func serverRunning(httpPort: Int) {
        httpURL = servedURL(configuration.httpURL, port: httpPort)
    }

    /// Milliseconds on a monotonic clock: the only time the protocol machines see.
    static func nowMillis() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }

    // MARK: - Failed logins, shared

    /// Sets where the failed logins peers report go (the node's login throttle).
    public func onLoginFailures(_ sink: @escaping @Sendable ([[UInt8]]) -> Void) {
        loginFailureSink = sink
    }

    /// A failed login here (the identity's key): told to every live peer within 100 ms, in one
    /// message per peer for all failures of that moment (at most 1000; more are dropped — the
    /// local throttle still counts them).
    public nonisolated func reportLoginFailure(_ key: [UInt8]) {
        Task { await self.queueLoginFailure(key) }
    }

    private func queueLoginFailure(_ key: [UInt8]) {
        guard pendingLoginFailures.count < 1000 else { return }
        pendingLoginFailures.append(key)
        guard pendingLoginFailures.count == 1 else { return }
        Task {
            try? await Task.sleep(for: .milliseconds(100))
            await self.flushLoginFailures()
        }
    }

    private func flushLoginFailures() async {
        let keys = pendingLoginFailures
        pendingLoginFailures = []
        guard !keys.isEmpty else { return }
        let bytes = WireCodec.encode(.loginFailures(from: database.nodeName, keys))
        for peer in replication.livePeers { _ = await send(encoded: bytes, to: peer, droppable: true) }
    }

    // MARK: - Service

    public func run() async throws {
        let (server, datagrams) = try await bind()
        guard let port = gossipPort else { return }
        // A node told to listen on HTTP port 0 announces the port it got (the gateway routes by it).
        if configuration.httpURL.hasSuffix(":0") {
            for _ in 0..<3000 where httpURL == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        swim = SWIMInstance(
            myself: MemberID(name: database.nodeName, host: configuration.gossipHost, port: port),
            meta: MemberRole.node(httpURL: httpURL ?? configuration.httpURL).meta, configuration: configuration.swim, seeds: configuration.join
        )
        logger.info("gossip listening on \(configuration.gossipHost):\(port)", metadata: ["join": "\(configuration.join.map { "\($0.host):\($0.port)" })"])
        database.onCommit { [weak self] change in
            guard change.isLocal, let self else { return }
            Task { await self.localCommitted(seq: change.seq) }
        }
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { tasks in
                    tasks.addTask { try await self.serveStreams(server) }
                    tasks.addTask { try await self.serveDatagrams(datagrams, port: port) }
                    tasks.addTask { try await self.tickLoop() }
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: the tick loop's sleep was cancelled.
        }
        for link in links.values { try? await link.close() }
        links.removeAll()
        logger.info("gossip stopped")
    }

    /// Leaves the cluster for good: tells every member we left (twice, a moment apart, as
    /// datagrams may be lost), then stops taking part in membership. The caller stops the node
    /// afterwards. Peers mark us `left` at once, stop waiting for us before compacting, and the
    /// gateway stops routing to us.
    public func leave() async {
        guard swim != nil else { return }
        // First make sure every live peer holds our own changes (at most 10 s): a graceful leave
        // loses no write. Each round pushes what a lagging peer lacks and asks for its vector.
        let deadline = Self.nowMillis() + 10_000
        while Self.nowMillis() < deadline {
            let own = database.versionVector().entries[database.origin]?.contiguous ?? 0
            let lacking = replication.peersLacking(origin: database.origin, through: own)
            guard !lacking.isEmpty else { break }
            logger.info("leaving: waiting until \(lacking.joined(separator: ", ")) hold our changes")
            for peer in lacking {
                await sendMissing(to: peer, theirs: replication.vector(of: peer) ?? VersionVector(), skipEmpty: true)
                await send(.vector(from: database.nodeName, database.versionVector()), to: peer)
            }
            try? await Task.sleep(for: .milliseconds(300))
        }
        guard var instance = swim else { return }
        let directives = instance.leave()
        swim = nil   // no more probes, and no claim about us is refuted from now on
        logger.info("leaving the cluster: announcing it to \(directives.count) members")
        handle(directives)
        try? await Task.sleep(for: .milliseconds(200))
        handle(directives)
        try? await Task.sleep(for: .milliseconds(300))
    }

    private func tickLoop() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(configuration.tickMillis))
            tick()
        }
    }

    private func tick() {
        guard var instance = swim else { return }
        let now = Self.nowMillis()
        let swimDirectives = instance.onTick(now: now, rng: &rng)
        swim = instance
        handle(swimDirectives)
        handle(replication.onTick(now: now, rng: &rng))
    }

    // MARK: - Inbound

    /// A datagram arrived and authenticated: feed SWIM.
    func received(envelope: SWIMEnvelope) {
        guard var instance = swim else { return }
        let directives = instance.onMessage(envelope, now: Self.nowMillis(), rng: &rng)
        swim = instance
        handle(directives)
    }

    /// An authenticated stream message: merge changes or answer a vector.
    func received(message: WireMessage) async {
        switch message {
        case .swim:
            transportCounters.reject(.malformed)
        case .hello:
            // Hellos are taken by the connection's handler; a second one means nothing.
            break
        case .loginFailures(_, let keys):
            loginFailureSink?(keys)
        case .limits, .cacheNotice, .cacheAck:
            // Gateways' rate-limit reports and cache notices go to gateways only.
            transportCounters.reject(.malformed)
        case .vector(let peer, let vector):
            replication.onPeerVector(peer, vector: vector, now: Self.nowMillis())
            // Always answer (possibly with an empty batch) so the asker learns our vector.
            await sendMissing(to: peer, theirs: vector, skipEmpty: false)
        case .snapshot(let peer, let batch):
            // A state transfer is our pull still streaming: no new pull (which would start another
            // transfer) while its batches keep coming.
            if batch.isLast {
                transferring[peer] = nil
            } else {
                pulls[peer] = Self.nowMillis()
                transferring[peer] = Self.nowMillis()
            }
            do {
                let result = try await database.apply(snapshot: batch.records)
                counters.applied += result.applied.count
                if let floor = transfers.merged(batch, from: peer, now: Self.nowMillis()) {
                    try await database.adoptFloor(floor)
                    counters.stateTransfersReceived += 1
                    Counter(label: "stoa_cluster_state_transfers_total", dimensions: [("direction", "received")]).increment()
                    logger.info("state transfer from \(peer) complete (\(batch.index + 1) batches)")
                }
            } catch {
                logger.error("merging a state transfer batch from \(peer) failed: \(error)")
            }
        case .changes(let peer, let changes, let vector):
            if !changes.isEmpty {
                do {
                    let result = try await database.apply(remote: changes)
                    counters.applied += result.applied.count
                    counters.driftRejected += result.rejectedForDrift
                    if result.rejectedForDrift > 0 {
                        Counter(label: "stoa_cluster_changes_rejected_total", dimensions: [("reason", "drift")]).increment(by: result.rejectedForDrift)
                        logger.warning("rejected \(result.rejectedForDrift) changes from \(peer): stamped beyond the clock drift bound")
                    }
                    Counter(label: "stoa_cluster_changes_applied_total").increment(by: result.applied.count)
                    if result.hidden > 0 {
                        // A create of an existing id by another user (or that user's writes to it):
                        // kept in a hidden lineage, never shown (owners are fixed at creation).
                        counters.hiddenLineageChanges += result.hidden
                        Counter(label: "stoa_cluster_hidden_lineage_changes_total").increment(by: result.hidden)
                    }
                } catch {
                    logger.error("merging \(changes.count) changes from \(peer) failed: \(error)")
                    return
                }
            }
            if let vector {
                // An answer to our vector (the other direction is the peer's own pull).
                replication.onPeerVector(peer, vector: vector, now: Self.nowMillis())
                if changes.count < configuration.replication.maxBatch { pulls[peer] = nil }
            } else if !changes.isEmpty, hasGap(in: Set(changes.map(\.origin))) {
                // A push that left a gap: ask the pusher to fill it.
                await send(.vector(from: database.nodeName, database.versionVector()), to: peer)
            }
        }
    }

    /// True when some change of one of `origins` is missing below one we have.
    private func hasGap(in origins: Set<String>) -> Bool {
        let vector = database.versionVector()
        return origins.contains { !(vector.entries[$0]?.extra.isEmpty ?? true) }
    }

    // MARK: - Directives

    private func handle(_ directives: [SWIMDirective]) {
        for directive in directives {
            switch directive {
            case .send(let envelope, let address):
                datagramLink.send(envelope, to: address)
            case .statusChanged(let id, let from, let to, let meta):
                // A gateway holds no data: SWIM probes it, replication leaves it out.
                guard MemberRole(meta: meta).holdsData else {
                    logger.info("gateway \(id.name) at \(id.host):\(id.port): \(from.map(\.rawValue) ?? "new") -> \(to.rawValue)")
                    continue
                }
                // A member that came back on a new address has two identities under one name:
                // replication follows the name's current, most alive identity.
                let current = swim?.member(named: id.name)
                let effective = current?.id ?? id
                let status = current?.status ?? to
                if let known = memberIDs[id.name], known != effective, let link = links.removeValue(forKey: id.name) {
                    link.close(promise: nil)
                }
                memberIDs[id.name] = effective
                logger.info("member \(id.name) at \(id.host):\(id.port): \(from.map(\.rawValue) ?? "new") -> \(to.rawValue)")
                if status.isDown, let link = links.removeValue(forKey: id.name) { link.close(promise: nil) }
                if status == .left {
                    replication.onPeerLeft(id.name, now: Self.nowMillis())
                } else {
                    // Suspect members still get changes: suspicion is often a false alarm.
                    handle(replication.onPeerStatus(id.name, alive: !status.isDown, now: Self.nowMillis()))
                }
            case .metaChanged(let id, let meta):
                // Replication addresses peers by name over gossip addresses, not by their URL.
                logger.info("member \(id.name) at \(id.host):\(id.port) now announces \(meta)")
            }
        }
    }

    private func handle(_ directives: [ReplicationDirective]) {
        for directive in directives {
            switch directive {
            case .push(let seqs, let peers):
                Task { await self.push(seqs: seqs, to: peers) }
            case .antiEntropy(let peer):
                // While a pull from another peer is still streaming, skip this one: that stream
                // usually brings the same changes, and the next periodic round covers the rest.
                // Nor pull again from a peer whose state transfer is still arriving: it would send
                // the whole transfer again once the first is sent (an empty node caught up with
                // 100,000 quotes got six).
                let now = Self.nowMillis()
                let window = configuration.replication.pullWindowMillis
                pulls = pulls.filter { now - $0.value < window }
                transferring = transferring.filter { now - $0.value < window }
                guard pulls.keys.allSatisfy({ $0 == peer }), transferring[peer] == nil else { continue }
                pulls[peer] = now
                let vector = database.versionVector()
                Task { await self.send(.vector(from: self.database.nodeName, vector), to: peer) }
            case .compact:
                guard !compacting, let stable = replication.stablePoint(own: database.versionVector(), now: Self.nowMillis()) else { continue }
                compacting = true
                Task { await self.compact(upTo: stable) }
            }
        }
    }

    /// Removes from the log what every member holds (one compaction at a time).
    private func compact(upTo stable: VersionVector) async {
        defer { compacting = false }
        do {
            let removed = try await database.compact(upTo: stable)
            counters.compactedChanges += removed
            if removed > 0 {
                Counter(label: "stoa_log_compacted_changes_total").increment(by: removed)
                logger.debug("compacted \(removed) changes out of the log")
            }
        } catch {
            logger.error("compaction failed: \(error)")
        }
    }

    func localCommitted(seq: UInt64) {
        handle(replication.onLocalCommit(seq: seq))
    }

    private func push(seqs: ClosedRange<UInt64>, to peers: [String]) async {
        guard let changes = try? await database.localChanges(seqs), !changes.isEmpty else { return }
        for peer in peers {
            // A push to a peer that is not reading is dropped: anti-entropy repairs it later.
            await sendBatch(changes, vector: nil, to: peer, droppable: true)
        }
    }

    /// Sends `peer` every change it lacks (`theirs`: the vector it just sent), in batches of at
    /// most `maxBatch` changes and `maxFrameBytes`, each carrying our vector. When it lacks
    /// changes our log no longer holds (below our floor), a state transfer comes first.
    /// Stops at the first failed send.
    private func sendMissing(to peer: String, theirs: VersionVector, skipEmpty: Bool) async {
        // One stream per peer: a stream in progress already sends everything missing, so a
        // second request (the peer's pull and our own exchange crossing) would only duplicate it.
        guard streaming.insert(peer).inserted else { return }
        defer { streaming.remove(peer) }
        var known = theirs
        if database.needsStateTransfer(for: theirs) {
            guard let floor = await sendSnapshot(to: peer) else { return }
            known.merge(floor)
        }
        let limit = configuration.replication.maxBatch
        for _ in 0..<100_000 {
            guard let batch = try? await database.changes(notIn: known, limit: limit) else { return }
            if batch.isEmpty && skipEmpty { return }
            guard await sendBatch(batch, vector: database.versionVector(), to: peer, droppable: false) else { return }
            guard batch.count == limit else { return }
            for change in batch { known.insert(origin: change.origin, seq: change.seq) }
        }
    }

    /// Streams every record state to `peer` (a state transfer, DESIGN notes "Bounded history"):
    /// our floor, read first, is what the whole transfer stands for; batches of at most
    /// ``ReplicationConfiguration/snapshotBatch`` records, split to fit a frame, numbered from 0,
    /// the last one marked. Returns the floor, or nil when a send failed.
    private func sendSnapshot(to peer: String) async -> VersionVector? {
        let floor = database.floorVector()
        let id = nextSnapshotID
        nextSnapshotID += 1
        var index: UInt64 = 0
        var position: RecordSnapshot.Position?
        let limit = max(1, configuration.replication.snapshotBatch)
        logger.info("state transfer to \(peer): its vector lacks changes below our floor")
        while true {
            guard let (records, next) = try? await database.recordSnapshots(after: position, limit: limit) else { return nil }
            guard await sendSnapshotParts(records, id: id, index: &index, isLast: next == nil, floor: floor, to: peer) else { return nil }
            guard let next else { break }
            position = next
        }
        counters.stateTransfersSent += 1
        Counter(label: "stoa_cluster_state_transfers_total", dimensions: [("direction", "sent")]).increment()
        return floor
    }

    /// Sends `records` as one snapshot batch, or in halves when it does not fit a frame; only
    /// the very last part carries `isLast`. A single record too large for a frame is sent alone
    /// anyway (frames are sized for the largest record a client may write).
    private func sendSnapshotParts(
        _ records: [RecordSnapshot], id: UInt64, index: inout UInt64, isLast: Bool, floor: VersionVector, to peer: String
    ) async -> Bool {
        let batch = SnapshotBatch(id: id, index: index, isLast: isLast, floor: floor, records: records)
        let bytes = WireCodec.encode(.snapshot(from: database.nodeName, batch))
        if bytes.count + FrameSealer.overhead > configuration.maxFrameBytes, records.count > 1 {
            let half = records.count / 2
            guard await sendSnapshotParts(Array(records[..<half]), id: id, index: &index, isLast: false, floor: floor, to: peer) else { return false }
            return await sendSnapshotParts(Array(records[half...]), id: id, index: &index, isLast: isLast, floor: floor, to: peer)
        }
        index += 1
        return await send(encoded: bytes, to: peer, droppable: false)
    }

    /// Sends changes in frames that fit ``ClusterConfiguration/maxFrameBytes``, splitting a
    /// batch in halves when needed; a single change too large for a frame is skipped and logged.
    @discardableResult
    private func sendBatch(_ changes: [Change], vector: VersionVector?, to peer: String, droppable: Bool) async -> Bool {
        let message = WireMessage.changes(from: database.nodeName, changes, vector: vector)
        let bytes = WireCodec.encode(message)
        if bytes.count + FrameSealer.overhead > configuration.maxFrameBytes {
            guard changes.count > 1 else {
                logger.error("change \(changes.first.map { "\($0.origin)/\($0.seq)" } ?? "?") is larger than a frame; not sent")
                return true
            }
            let half = changes.count / 2
            guard await sendBatch(Array(changes[..<half]), vector: vector, to: peer, droppable: droppable) else { return false }
            return await sendBatch(Array(changes[half...]), vector: vector, to: peer, droppable: droppable)
        }
        return await send(encoded: bytes, to: peer, droppable: droppable)
    }
}

/// What the cluster shell has counted since start (also exported as metrics).
/// What the transport refused is counted apart, off the actor (``TransportCounters``).
struct ClusterCounters: Sendable {
    var applied = 0
    var driftRejected = 0
    var sendFailures = 0
    var droppedPushes = 0
    var stateTransfersSent = 0
    var stateTransfersReceived = 0
    var compactedChanges = 0
    var hiddenLineageChanges = 0
}
