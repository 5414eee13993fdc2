import AsyncHTTPClient
import Dispatch
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Prometheus
import ServiceLifecycle
import StoaNode

/// Builds the gateway: its membership service, the keep-alive client pool to the nodes, the
/// limiter and cache shells, and the HTTP(S) server answering through ``GatewayResponder``.
public func buildGateway(
    configuration: GatewayConfiguration,
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger = Logger(label: "stoa.gateway")
) async throws -> some ApplicationProtocol {
    var clientConfiguration = HTTPClient.Configuration()
    clientConfiguration.timeout = .init(connect: .seconds(1))
    clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
    clientConfiguration.decompression = .disabled
    clientConfiguration.redirectConfiguration = .disallow
    // No tracer: otherwise every request opens a (no-op) span through existentials.
    clientConfiguration.tracing.tracer = nil
    // The server and the upstream clients share NIO's loops: each client connection's loop has
    // its own upstream client.
    let group = MultiThreadedEventLoopGroup.singleton
    let clients = UpstreamClients(group: group, configuration: clientConfiguration)

    let pool = NodePool()
    let membership = GatewayMembership(configuration: configuration.membership, pool: pool, client: clients.all[0], logger: Logger(label: "stoa.gateway.gossip"))
    let tokens: TokenService? = if let secret = configuration.tokenSecret, !secret.isEmpty { await TokenService(secret: secret) } else { nil }
    let limiter = configuration.policies.isEmpty ? nil : GatewayRateLimit(policies: configuration.policies, trustedProxies: configuration.trustedProxies, maxKeys: configuration.maxLimiterKeys)
    let cache = configuration.cacheBytes > 0
        ? GatewayCache(byteBudget: configuration.cacheBytes, ttlNanos: configuration.cacheTTLNanos, staleForNanos: configuration.cacheStaleNanos) : nil
    let proxy = GatewayProxy(pool: pool, clients: clients, timeout: .seconds(configuration.upstreamTimeoutSeconds), logger: logger)
    let status = GatewayStatusSource(pool: pool, membership: membership, limiter: limiter, cache: cache, startedAt: DispatchTime.now().uptimeNanoseconds)
    let secure = configuration.tlsCertificatePath != nil
    let responder = GatewayResponder(
        proxy: proxy, tokens: tokens, limiter: limiter, cache: cache, status: status, registry: registry,
        maxBodyBytes: configuration.maxBodyBytes, scheme: secure ? "https" : "http"
    )
    var server = HTTPServerBuilder.http1()
    if let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        server = try .tls(.http1(), tlsConfiguration: tls)
    }
    return Application(
        responder: responder, server: server,
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "stoa-gateway"),
        services: [membership, HTTPClientService(clients: clients)],
        onServerRunning: { channel in
            if let port = channel.localAddress?.port { await membership.serverRunning(httpPort: port) }
        },
        eventLoopGroupProvider: .shared(group), logger: logger
    )
}

/// Shuts the upstream clients down when the application stops.
struct HTTPClientService: Service {
    let clients: UpstreamClients

    func run() async throws {
        try? await gracefulShutdown()
        try await clients.shutdown()
    }
}

/// Makes NIO's event loops Swift Concurrency's global executor, so a proxied request does not
/// hop between NIO's threads and the concurrency pool at every await: a task resumed from an
/// event loop stays on it, and ``GatewayProxy`` asks for the node connection on that loop too.
/// `stoa gateway` calls it first thing (before other tasks run; at most once per process).
/// Nothing that blocks may then run in a task. Returns false when it could not be installed.
@discardableResult
public func runConcurrencyOnEventLoops() -> Bool {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
