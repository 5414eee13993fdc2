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
/// Every message is sealed with the cluster key (``FrameSealer``); one that fails
/// authentication or decoding is dropped and counted, never trusted.
public actor ClusterNode: Service {
    let configuration: ClusterConfiguration
    let database: StoaDatabase
    let logger: Logger
    let sealer: FrameSealer
    let group: MultiThreadedEventLoopGroup

    var swim: SWIMInstance?
    var replication: ReplicationMachine
    var rng = SystemRandomNumberGenerator()
    var datagramWriter: NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>?
    var links: [String: any Channel] = [:]
    var memberIDs: [String: MemberID] = [:]
    var resolved: [MemberAddress: SocketAddress] = [:]
    /// The gossip port actually bound (known once ``run()`` has bound it).
    public internal(set) var gossipPort: Int?
    var counters = ClusterCounters()

    public init(configuration: ClusterConfiguration, database: StoaDatabase, logger: Logger, group: MultiThreadedEventLoopGroup = .singleton) {
        self.configuration = configuration
        self.database = database
        self.logger = logger
        self.sealer = FrameSealer(clusterKey: configuration.clusterKey)
        self.group = group
        self.replication = ReplicationMachine(myself: database.nodeName, configuration: configuration.replication)
    }

    /// Milliseconds on a monotonic clock: the only time the protocol machines see.
    static func nowMillis() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }

    // MARK: - Service

    public func run() async throws {
        let (server, datagrams) = try await bind()
        guard let port = gossipPort else { return }
        swim = SWIMInstance(
            myself: MemberID(name: database.nodeName, host: configuration.gossipHost, port: port),
            meta: configuration.httpURL, configuration: configuration.swim, seeds: configuration.join
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
                    tasks.addTask { try await self.serveDatagrams(datagrams) }
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

    /// A datagram arrived: authenticate, decode, feed SWIM.
    func received(datagram bytes: [UInt8]) {
        guard let payload = sealer.open(bytes) else { return reject(.authentication) }
        guard case .swim(let envelope)? = try? WireCodec.decode(payload), var instance = swim else { return reject(.malformed) }
        let directives = instance.onMessage(envelope, now: Self.nowMillis(), rng: &rng)
        swim = instance
        handle(directives)
    }

    /// A stream frame arrived: authenticate, decode, then merge changes or answer a vector.
    func received(frame bytes: [UInt8]) async {
        guard let payload = sealer.open(bytes) else { return reject(.authentication) }
        let message: WireMessage
        do { message = try WireCodec.decode(payload) } catch { return reject(.malformed) }
        switch message {
        case .swim:
            reject(.malformed)
        case .vector(let peer, let vector):
            replication.onPeerVector(peer, vector: vector, now: Self.nowMillis())
            await sendMissing(to: peer, theirVector: vector)
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
                } catch {
                    logger.error("merging \(changes.count) changes from \(peer) failed: \(error)")
                    return
                }
            }
            if let vector {
                replication.onPeerVector(peer, vector: vector, now: Self.nowMillis())
            } else if !changes.isEmpty {
                // A push: answer with our vector so the pusher fills any gap and learns our lag.
                await send(.vector(from: database.nodeName, database.versionVector()), to: peer)
            }
        }
    }

    enum Rejection: String { case authentication, malformed }

    private func reject(_ reason: Rejection) {
        switch reason {
        case .authentication: counters.unauthenticated += 1
        case .malformed: counters.malformed += 1
        }
        Counter(label: "stoa_cluster_messages_rejected_total", dimensions: [("reason", reason.rawValue)]).increment()
    }

    // MARK: - Directives

    private func handle(_ directives: [SWIMDirective]) {
        for directive in directives {
            switch directive {
            case .send(let envelope, let address):
                sendDatagram(.swim(envelope), to: address)
            case .statusChanged(let id, let from, let to, _):
                memberIDs[id.name] = id
                logger.info("member \(id.name) at \(id.host):\(id.port): \(from.map(\.rawValue) ?? "new") -> \(to.rawValue)")
                if to == .dead, let link = links.removeValue(forKey: id.name) { link.close(promise: nil) }
                handle(replication.onPeerStatus(id.name, alive: to == .alive, now: Self.nowMillis()))
            }
        }
    }

    private func handle(_ directives: [ReplicationDirective]) {
        for directive in directives {
            switch directive {
            case .push(let seqs, let peers):
                Task { await self.push(seqs: seqs, to: peers) }
            case .antiEntropy(let peer):
                let vector = database.versionVector()
                Task { await self.send(.vector(from: self.database.nodeName, vector), to: peer) }
            }
        }
    }

    func localCommitted(seq: UInt64) {
        handle(replication.onLocalCommit(seq: seq))
    }

    private func push(seqs: ClosedRange<UInt64>, to peers: [String]) async {
        guard let changes = try? await database.localChanges(seqs), !changes.isEmpty else { return }
        for peer in peers {
            await send(.changes(from: database.nodeName, changes, vector: nil), to: peer)
        }
    }

    /// Sends `peer` every change it lacks, in batches, each carrying our vector.
    private func sendMissing(to peer: String, theirVector: VersionVector) async {
        var known = theirVector
        let limit = configuration.replication.maxBatch
        for _ in 0..<10_000 {
            guard let batch = try? await database.changes(notIn: known, limit: limit) else { return }
            await send(.changes(from: database.nodeName, batch, vector: database.versionVector()), to: peer)
            guard batch.count == limit else { return }
            for change in batch { known.insert(origin: change.origin, seq: change.seq) }
        }
    }
}

/// What the cluster shell has counted since start (also exported as metrics).
struct ClusterCounters: Sendable {
    var unauthenticated = 0
    var malformed = 0
    var applied = 0
    var driftRejected = 0
    var sendFailures = 0
}
