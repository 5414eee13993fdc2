import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import StoaStore

/// Builds a node's HTTP application over an open database; the database's background
/// ``WALCheckpointer``, when it has one, runs as a service of the application.
///
/// The server holds every connection to the configuration's ``NodeHTTPLimits``
/// (``NodeHTTPChannel``), and a failed accept (out of file descriptors) pauses accepting for a
/// second (``AcceptErrorBackoff``) instead of spinning a core.
///
/// - Parameters:
///   - registry: where `/metrics` reads from; the process's metrics factory should write to it.
///   - cluster: the node's cluster member, when it is part of a cluster; it runs as a service of
///     the application and serves `/api/cluster`.
public func buildApplication(
    configuration: NodeConfiguration,
    database: StoaDatabase,
    cluster: ClusterNode? = nil,
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    logger: Logger = Logger(label: "stoa.node")
) async throws -> some ApplicationProtocol {
    let realtime = RealtimeBroker(
        nodeName: configuration.name, queueLimit: configuration.realtimeQueueLimit, queueByteLimit: configuration.realtimeQueueByteLimit,
        totalByteLimit: configuration.realtimeTotalByteLimit, logger: logger
    )
    realtime.observe(database)
    let mail = configuration.mailSender.map { MailQueue(sender: $0, capacity: configuration.mailQueueCapacity, logger: logger) }
    let links = AccountLinks(
        base: configuration.publicURL ?? "http://\(configuration.httpHost.contains(":") ? "[\(configuration.httpHost)]" : configuration.httpHost):\(configuration.httpPort)",
        configured: configuration.publicURL != nil
    )
    let router = try await buildRouter(
        configuration: configuration, database: database, cluster: cluster, realtime: realtime, registry: registry, mail: mail, links: links
    )
    let limits = configuration.httpLimits
    let counters = NodeHTTPCounters(maxConnections: limits.maxConnections)
    limits.exportGauges()
    return Application(
        router: router,
        server: .node(limits: limits, counters: counters),
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "stoa"),
        services: [realtime] + (cluster.map { [$0] } ?? [LogCompactor(database: database, intervalMillis: configuration.compactionIntervalMillis, logger: logger)])
            + (database.checkpointer.map { [CheckpointService(checkpointer: $0)] } ?? []) + (mail.map { [$0] } ?? []),
        onServerRunning: { channel in
            // First in the listening channel: an accept error must not end Hummingbird's accept loop.
            try? await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(AcceptErrorBackoff(counter: counters.acceptErrors), position: .first)
            }.get()
            if let port = channel.localAddress?.port, let url = servedURL(links.url, port: port) { links.served(url) }
            if let cluster, let port = channel.localAddress?.port { await cluster.serverRunning(httpPort: port) }
        },
        logger: logger
    )
}

/// Builds the router: PocketBase's Records API for `users` and `quotes`, account mail
/// (password reset, verification, email change: sent through `mail`, whose
/// ``MailQueue/run()`` must run; nil answers that mail is not configured) and its pages,
/// realtime (when a broker is given; its ``RealtimeBroker/run()`` must run for events to flow),
/// `/api/sync`, health and metrics.
public func buildRouter(
    configuration: NodeConfiguration,
    database: StoaDatabase,
    cluster: ClusterNode? = nil,
    realtime: RealtimeBroker? = nil,
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    mail: MailQueue? = nil,
    links: AccountLinks? = nil
) async throws -> Router<StoaRequestContext> {
    // An empty secret would make tokens forgeable: it counts as no secret.
    let given = configuration.tokenSecret.flatMap { $0.isEmpty ? nil : $0 }
    let secret = try given ?? database.metaValue("token_secret") {
        var rng = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(rng.next(), radix: 16) }.joined()
    }
    // A token is accepted while its token key is the user's current one (a password reset or
    // email change rotates the key, on every node the edit reaches); the tokens a node
    // remembers as verified are forgotten whenever their user's record changes here.
    let tokens = await TokenService(secret: secret, lifetime: configuration.tokenLifetimeSeconds) { collectionID, userID in
        guard let schema = CollectionSchema.authCollection(id: collectionID) else { return nil }
        return try await database.record(schema, id: userID, owner: nil)?.text("tokenKey")
    }
    database.onRecordEvents { events in
        for event in events where [CollectionSchema.users.name, CollectionSchema.superusers.name].contains(event.record.collection) {
            tokens.forgetTokens(ofUser: event.record.id)
        }
    }
    let router = Router(context: StoaRequestContext.self)
    router.add(middleware: PBErrorMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: AuthMiddleware(tokens: tokens, maxBodyBytes: configuration.maxBodyBytes))
    HealthController().addRoutes(to: router)
    if let cluster { ClusterController(node: cluster, database: database).addRoutes(to: router) }
    router.get("metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
        )
    }
    let throttle = configuration.loginThrottleClock.map {
        LoginThrottle(burst: configuration.loginFailureLimit, perMinute: Double(configuration.loginFailureLimit), clock: $0)
    } ?? LoginThrottle(burst: configuration.loginFailureLimit, perMinute: Double(configuration.loginFailureLimit))
    if let cluster {
        // Failed logins count on every node: ours are told to the others, theirs counted here.
        throttle.share { key in cluster.reportLoginFailure(key) }
        await cluster.onLoginFailures { keys in throttle.failed(keys: keys) }
    }
    let passwords = PasswordHasher(cost: configuration.bcryptCost, maxPending: configuration.passwordWorkLimit)
    let users = router.group("api/collections/users")
    UsersController(repository: database, tokens: tokens, passwords: passwords, loginThrottle: throttle).addRoutes(to: users)
    AccountController(
        repository: database, tokens: tokens, passwords: passwords, loginThrottle: throttle, mail: mail,
        links: links ?? AccountLinks(base: configuration.publicURL ?? "http://\(configuration.httpHost):\(configuration.httpPort)", configured: true)
    ).addRoutes(to: users)
    UsersController(repository: database, tokens: tokens, passwords: passwords, loginThrottle: throttle, schema: .superusers)
        .addRoutes(to: router.group("api/collections/_superusers"))
    AccountPages().addRoutes(to: router)
    DashboardController().addRoutes(to: router)
    QuotesController(repository: database).addRoutes(to: router.group("api/collections/quotes/records"))
    SyncController(store: database).addRoutes(to: router)
    if let realtime { RealtimeController(broker: realtime).addRoutes(to: router) }
    return router
}

/// The database's background checkpoints, for as long as the node runs (they stop at graceful
/// shutdown; SQLite checkpoints what is left when the database closes).
struct CheckpointService: Service {
    let checkpointer: WALCheckpointer

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await checkpointer.run() }
    }
}
