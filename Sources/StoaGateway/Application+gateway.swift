import AsyncHTTPClient
import Dispatch
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Prometheus
import ServiceLifecycle
import StoaNode

/// The gateway's services, run together until SIGTERM or SIGINT (then shut down gracefully,
/// the HTTP server first).
public struct Gateway: Sendable {
    public let services: [any Service]
    let logger: Logger

    public func run() async throws {
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
        ))
        try await group.run()
    }
}

/// Builds the gateway: its membership service, the keep-alive connections to the nodes, the
/// limiter and cache shells, the HTTP(S) server for the clients and the admin listener for the
/// gateway's own pages, both answering through ``GatewayResponder``.
public func buildGateway(
    configuration: GatewayConfiguration,
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger = Logger(label: "stoa.gateway")
) async throws -> Gateway {
    // The server and the node connections share NIO's loops: each client connection's loop
    // has its own connections to the nodes.
    let group = MultiThreadedEventLoopGroup.singleton
    let connections = UpstreamConnections(group: group, connectTimeout: .seconds(1), maxIdlePerNode: 64)

    // Health checks (rare) go through AsyncHTTPClient.
    var clientConfiguration = HTTPClient.Configuration()
    clientConfiguration.timeout = .init(connect: .seconds(1))
    clientConfiguration.decompression = .disabled
    clientConfiguration.redirectConfiguration = .disallow
    clientConfiguration.tracing.tracer = nil
    let healthClient = HTTPClient(eventLoopGroup: group, configuration: clientConfiguration)

    let pool = NodePool()
    let membership = GatewayMembership(configuration: configuration.membership, pool: pool, client: healthClient, logger: Logger(label: "stoa.gateway.gossip"))
    let tokens: TokenService? = if let secret = configuration.tokenSecret, !secret.isEmpty { await TokenService(secret: secret) } else { nil }
    let limiter = configuration.policies.isEmpty ? nil : GatewayRateLimit(policies: configuration.policies, trustedProxies: configuration.trustedProxies, maxKeys: configuration.maxLimiterKeys)
    if let limiter { await membership.shareLimits(limiter) }
    let cache = configuration.cacheBytes > 0
        ? GatewayCache(byteBudget: configuration.cacheBytes, ttlNanos: configuration.cacheTTLNanos, staleForNanos: configuration.cacheStaleNanos) : nil
    // With a cache, writes are announced to the other gateways (their caches drop what they
    // cached of it, their writer affinity follows) before they are answered.
    let affinity = WriterAffinity()
    let sync = cache.map { GatewayCacheSync(name: configuration.membership.name, cache: $0, affinity: affinity) }
    if let sync { await membership.shareCache(sync) }
    let proxy = GatewayProxy(pool: pool, connections: connections, timeout: .seconds(configuration.upstreamTimeoutSeconds), logger: logger)
    let status = GatewayStatusSource(pool: pool, membership: membership, limiter: limiter, cache: cache, startedAt: DispatchTime.now().uptimeNanoseconds)
    var tls: NIOSSLContext?
    if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        tls = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))))
    }
    let responder = GatewayResponder(proxy: proxy, tokens: tokens, limiter: limiter, cache: cache, status: status, registry: registry, scheme: tls != nil ? "https" : "http",
                                  affinity: affinity, sync: sync)
    let server = GatewayServer(
        host: configuration.httpHost, port: configuration.httpPort, group: group, tls: tls, responder: responder,
        limits: configuration.limits, logger: logger
    ) { port in
        await membership.serverRunning(httpPort: port)
    }
    let admin = GatewayServer(
        host: configuration.adminHost, port: configuration.adminPort, group: group, tls: nil, responder: responder, role: .admin,
        limits: GatewayConfiguration.adminLimits, logger: logger
    ) { _ in }
    // Shut down in reverse: the servers stop first, then the node connections, then membership.
    return Gateway(services: [membership, UpstreamShutdown(connections: connections, healthClient: healthClient), admin, server], logger: logger)
}

/// Closes the idle node connections and the health-check client when the gateway stops.
struct UpstreamShutdown: Service {
    let connections: UpstreamConnections
    let healthClient: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        await connections.closeIdle()
        try await healthClient.shutdown()
    }
}

/// Makes NIO's event loops Swift Concurrency's global executor, so the gateway's tasks (a
/// first-seen token's verification, a cache miss) run on the loops rather than hopping to
/// another pool and back. `stoa gateway` calls it first thing (before other tasks run; at most
/// once per process). Nothing that blocks may then run in a task. Returns false when it could
/// not be installed.
@discardableResult
public func runConcurrencyOnEventLoops() -> Bool {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
