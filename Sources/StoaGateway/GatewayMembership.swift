import AsyncHTTPClient
import Dispatch
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import StoaGossip
import StoaNode

/// The gateway's seat in the cluster: a SWIM member that holds no data (it announces
/// ``MemberRole/gateway(httpURL:)`` so nodes leave it out of replication). It drives its own
/// ``SWIMInstance`` over the shared ``SWIMDatagramLink``, tells the ``NodePool`` what membership
/// says, and health-checks ejected nodes: one is re-admitted only when membership says it is
/// not dead and `GET /api/health` answers 200.
public actor GatewayMembership: Service {
    public struct Configuration: Sendable {
        public var name: String
        public var gossipHost: String
        public var gossipPort: Int
        public var join: [MemberAddress]
        /// Cluster keys (primary first), shared with whoever reloads them (SIGHUP).
        public var keyring: ClusterKeyring
        /// The gateway's own HTTP URL (announced after `gateway;`).
        public var httpURL: String
        public var swim: SWIMConfiguration
        public var tickMillis: UInt64
        public var healthCheckMillis: UInt64
        /// How often the rate-limit report goes to the other gateways (``RateLimiter+Sharing``).
        public var limitExchangeMillis: UInt64
        /// Another gateway not heard from for this long, while membership believes it alive, is
        /// "silent": this one reserves it a share of every policy.
        public var limitSilenceMillis: UInt64 = 2000

        /// - Parameter limitExchangeMillis: 0 sends no rate-limit reports (each gateway's limits
        ///   are its own; the others, not hearing it, reserve it a share).
        public init(name: String = "gateway", gossipHost: String, gossipPort: Int, join: [MemberAddress], keyring: ClusterKeyring, httpURL: String,
                    swim: SWIMConfiguration = .init(), tickMillis: UInt64 = 50, healthCheckMillis: UInt64 = 250, limitExchangeMillis: UInt64 = 50) {
            self.limitExchangeMillis = limitExchangeMillis
            self.name = name
            self.gossipHost = gossipHost
            self.gossipPort = gossipPort
            self.join = join
            self.keyring = keyring
            self.httpURL = httpURL
            self.swim = swim
            self.tickMillis = tickMillis
            self.healthCheckMillis = healthCheckMillis
        }
    }

    let configuration: Configuration
    let pool: NodePool
    let client: HTTPClient
    let logger: Logger
    let link: SWIMDatagramLink
    var swim: SWIMInstance?
    var rng = SystemRandomNumberGenerator()
    public private(set) var gossipPort: Int?
    /// The HTTP URL actually served, once the server listens (differs from the configured one
    /// for port 0).
    var httpURL: String?
    public private(set) var rejectedDatagrams = 0
    /// The limiter whose admissions go to the other gateways (nil: limits are this gateway's own).
    var limits: GatewayRateLimit?
    /// When each other gateway's last rate-limit report arrived (monotonic ms).
    var lastHeard: [String: UInt64] = [:]
    /// The cache's invalidations shared with the other gateways (nil: no cache).
    var cacheSync: GatewayCacheSync?

    public init(configuration: Configuration, pool: NodePool, client: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.pool = pool
        self.client = client
        self.logger = logger
        self.link = SWIMDatagramLink(sealer: FrameSealer(keyring: configuration.keyring), myName: configuration.name)
    }

    static func nowMillis() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }

    public func run() async throws {
        let channel = try await SWIMDatagramLink.bind(host: configuration.gossipHost, port: configuration.gossipPort, group: MultiThreadedEventLoopGroup.singleton)
        guard let port = channel.channel.localAddress?.port else { return }
        gossipPort = port
        // Told to listen on HTTP port 0, the gateway announces the port it got.
        if configuration.httpURL.hasSuffix(":0") {
            for _ in 0..<3000 where httpURL == nil { try await Task.sleep(for: .milliseconds(10)) }
        }
        swim = SWIMInstance(
            myself: MemberID(name: configuration.name, host: configuration.gossipHost, port: port),
            meta: MemberRole.gateway(httpURL: httpURL ?? configuration.httpURL).meta, configuration: configuration.swim, seeds: configuration.join
        )
        logger.info("gossip listening on \(configuration.gossipHost):\(port)", metadata: ["join": "\(configuration.join.map(\.description))"])
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { tasks in
                    tasks.addTask {
                        let logger = self.logger
                        try await self.link.serveReopening(
                            channel, host: self.configuration.gossipHost, port: port, group: MultiThreadedEventLoopGroup.singleton
                        ) { envelope in
                            await self.received(envelope)
                        } onMessage: { message in
                            await self.received(message)
                        } onReject: { _ in
                            await self.countRejected()
                        } onReopen: { error in
                            logger.warning("gossip datagram socket closed (a send failed: a local firewall?); reopening: \(error.map { "failed: \($0)" } ?? "done")")
                        }
                    }
                    tasks.addTask { try await self.tickLoop() }
                    tasks.addTask { try await self.healthLoop() }
                    tasks.addTask { try await self.limitExchangeLoop() }
                }
            }
        } catch is CancellationError {}
        logger.info("gossip stopped")
    }

    /// Called once the HTTP server listens: the URL announced to the members.
    public func serverRunning(httpPort: Int) {
        httpURL = servedURL(configuration.httpURL, port: httpPort)
    }

    private func countRejected() { rejectedDatagrams += 1 }

    private func tickLoop() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(configuration.tickMillis))
            guard var instance = swim else { continue }
            let directives = instance.onTick(now: Self.nowMillis(), rng: &rng)
            swim = instance
            handle(directives)
            reconcile()
        }
    }

    /// Brings the pool in line with the current view, as a safety net: status changes and new
    /// metadata (a node restarted on another HTTP port) also arrive as directives.
    private func reconcile() {
        guard let instance = swim else { return }
        var names = Set<String>()
        for member in instance.members { names.insert(member.id.name) }
        for name in names {
            guard let current = instance.member(named: name), case .node(let url) = MemberRole(meta: current.meta), !url.isEmpty else { continue }
            guard current.status != .left else {
                pool.remove(name: name)
                continue
            }
            pool.update(name: name, url: url, membership: Self.membership(current.status), now: DispatchTime.now().uptimeNanoseconds)
        }
    }

    static func membership(_ status: MemberStatus) -> UpstreamNode.Membership {
        switch status {
        case .alive: .alive
        case .suspect: .suspect
        case .dead, .left: .dead
        }
    }

    private func received(_ envelope: SWIMEnvelope) {
        guard var instance = swim else { return }
        let directives = instance.onMessage(envelope, now: Self.nowMillis(), rng: &rng)
        swim = instance
        handle(directives)
    }

    private func handle(_ directives: [SWIMDirective]) {
        for directive in directives {
            switch directive {
            case .send(let envelope, let address):
                link.send(envelope, to: address)
            case .statusChanged(let id, let from, let to, _):
                routeByMembership(id, change: "\(from.map(\.rawValue) ?? "new") -> \(to.rawValue)")
            case .metaChanged(let id, let meta):
                routeByMembership(id, change: "now announces \(meta)")
            }
        }
    }

    /// Points the pool at a node name's current identity (its liveliest one, for a node restarted
    /// on a new address) and URL (a node restarted on another HTTP port).
    private func routeByMembership(_ id: MemberID, change: String) {
        guard let current = swim?.member(named: id.name) else { return }
        guard case .node(let url) = MemberRole(meta: current.meta), !url.isEmpty else { return }
        logger.info("node \(id.name) at \(url): \(change)")
        guard current.status != .left else {
            pool.remove(name: id.name)
            return
        }
        pool.update(name: id.name, url: url, membership: Self.membership(current.status), now: DispatchTime.now().uptimeNanoseconds)
    }

    // MARK: - Rate limits shared with the other gateways

    /// Makes `limiter`'s policies hold for all gateways together: its admissions are reported to
    /// the other gateways every ``Configuration/limitExchangeMillis`` and theirs charged to it.
    public func shareLimits(_ limiter: GatewayRateLimit) {
        guard configuration.limitExchangeMillis > 0 else { return }
        limits = limiter
    }

    /// Makes `sync`'s notices go to the other gateways and theirs reach it.
    public func shareCache(_ sync: GatewayCacheSync) {
        let link = link
        sync.sendThrough { message, address in link.send(message: message, to: address) }
        cacheSync = sync
    }

    /// Every exchange interval (50 ms when rate-limit reports are off): the rate-limit report,
    /// then the cache's beats.
    private func limitExchangeLoop() async throws {
        guard configuration.limitExchangeMillis > 0 || cacheSync != nil else { return }
        let interval = configuration.limitExchangeMillis > 0 ? configuration.limitExchangeMillis : 50
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(interval))
            if configuration.limitExchangeMillis > 0 { exchangeLimits() }
            if let cacheSync {
                cacheSync.setPeers(Dictionary(gatewayPeers().map { ($0.id.name, $0.id.address) }, uniquingKeysWith: { first, _ in first }))
                cacheSync.tick()
            }
        }
    }

    /// The other gateways membership believes alive or suspect, under other names than this
    /// one's (one with the same name cannot be told apart from this one).
    private func gatewayPeers() -> [Member] {
        guard let instance = swim else { return [] }
        return instance.members.filter { member in
            guard member.id.name != configuration.name, member.status == .alive || member.status == .suspect,
                  case .gateway = MemberRole(meta: member.meta) else { return false }
            return true
        }
    }

    /// Sends this gateway's admissions since the last report (an empty report too: it tells the
    /// others this one is heard) to every other gateway membership believes alive or suspect, and
    /// reserves a share for each of them not heard from lately. A gateway with this one's name
    /// cannot be told apart from it (reports are signed by name): it is left out, and its limits
    /// and this one's stay separate.
    private func exchangeLimits() {
        guard let limits, swim != nil else { return }
        let now = Self.nowMillis()
        let peers = gatewayPeers()
        let silent = peers.filter { peer in
            guard let heard = lastHeard[peer.id.name], heard <= now else { return true }
            return now - heard > configuration.limitSilenceMillis
        }.count
        limits.reserveShares(silent)
        // Admissions are counted only while there is someone to tell (a lone gateway's hot path
        // keeps no report); the first report after a peer appears starts from then.
        limits.shareAdmissions(!peers.isEmpty)
        let entries = limits.takeReport()
        guard !peers.isEmpty else { return }
        for chunk in Self.datagramChunks(entries) {
            for peer in peers { link.send(message: .limits(from: configuration.name, chunk), to: peer.id.address) }
        }
    }

    /// `entries` in runs that each fit one datagram (at least one run, maybe empty).
    static func datagramChunks(_ entries: [LimitReportEntry], budget: Int = 6000) -> [[LimitReportEntry]] {
        var chunks: [[LimitReportEntry]] = [[]]
        var size = 0
        for entry in entries {
            let bytes = entry.policy.utf8.count + entry.key.utf8.count + 14
            if size + bytes > budget, !chunks[chunks.count - 1].isEmpty {
                chunks.append([])
                size = 0
            }
            chunks[chunks.count - 1].append(entry)
            size += bytes
        }
        return chunks
    }

    /// An authenticated datagram other than SWIM: another gateway's rate-limit report or cache
    /// notice.
    private func received(_ message: WireMessage) {
        switch message {
        case .limits(let from, let entries) where from != configuration.name:
            lastHeard[from] = Self.nowMillis()
            limits?.absorb(entries, now: DispatchTime.now().uptimeNanoseconds)
        case .cacheNotice, .cacheAck:
            cacheSync?.received(message)
        default:
            break
        }
    }

    /// Members as this gateway sees them (for the dashboard).
    public var members: [Member] { swim?.members ?? [] }

    /// Another gateway as this one sees it (for `/api/gateway`).
    public struct PeerView: Encodable, Sendable {
        public let name: String
        /// alive, suspect, dead or left, as membership says.
        public let status: String
        public let url: String
        /// Seconds since its last rate-limit report (nil: none heard).
        public let limitReportSecondsAgo: Double?
    }

    /// The other gateways in the membership, by name.
    func peerViews() -> [PeerView] {
        let now = Self.nowMillis()
        return members.compactMap { member -> PeerView? in
            guard member.id.name != configuration.name, case .gateway(let url) = MemberRole(meta: member.meta) else { return nil }
            let heard = lastHeard[member.id.name].map { Double(now &- $0) / 1000 }
            return PeerView(name: member.id.name, status: member.status.rawValue, url: url, limitReportSecondsAgo: heard)
        }.sorted { $0.name < $1.name }
    }

    // MARK: - Health checks (re-admission)

    nonisolated private func healthLoop() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(configuration.healthCheckMillis))
            let candidates = pool.readmissionCandidates()
            await withTaskGroup(of: Void.self) { group in
                for candidate in candidates {
                    group.addTask {
                        let healthy = await self.check(url: candidate.url)
                        self.pool.healthChecked(name: candidate.name, url: candidate.url, healthy: healthy, now: DispatchTime.now().uptimeNanoseconds)
                        if healthy { self.logger.info("node \(candidate.name) passed its health check: back in rotation") }
                    }
                }
            }
        }
    }

    nonisolated private func check(url: String) async -> Bool {
        var request = HTTPClientRequest(url: url + "/api/health")
        request.method = .GET
        guard let response = try? await client.execute(request, timeout: .seconds(1)) else { return false }
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return response.status == .ok
    }
}
