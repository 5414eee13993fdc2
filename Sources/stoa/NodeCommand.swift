import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import StoaGossip
import StoaNode
import StoaStore
import UnixSignals

/// `stoa node`: run a node (the default), or make a running one leave the cluster.
struct NodeGroup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run one Stoa node (PocketBase Records API over SQLite), or make one leave the cluster.",
        subcommands: [NodeCommand.self, LeaveCommand.self],
        defaultSubcommand: NodeCommand.self
    )
}

/// `stoa node [run]`: one node serving PocketBase's Records API from its own SQLite replica.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one Stoa node (the default of `stoa node`).",
        discussion: """
            Stops cleanly on SIGINT or SIGTERM (a restart is expected: the others keep waiting for it). \
            SIGUSR1 (`stoa node leave --data DIR`) makes it leave the cluster for good, then stop. \
            Every acknowledged write is durable against a process crash.
            """
    )

    @Option(help: "The node's name; fixed for a data folder.")
    var name: String

    @Option(help: "Data folder (created if missing); holds stoa.sqlite.")
    var data: String

    @Option(help: "HTTP listen address HOST:PORT.")
    var http: HostPort = HostPort(argument: "127.0.0.1:8090")!

    @Option(help: "Gossip address HOST:PORT (UDP probes and TCP change streams); omit to run a single node.")
    var gossip: HostPort?

    @Option(help: "Gossip addresses of members to join, comma separated.")
    var join: String?

    @OptionGroup var key: ClusterKeyOptions

    @Option(help: "SWIM: milliseconds between probes.")
    var probeIntervalMs: UInt64 = SWIMConfiguration().probeIntervalMillis

    @Option(help: "SWIM: milliseconds to wait for a direct ack before asking others.")
    var probeTimeoutMs: UInt64 = SWIMConfiguration().probeTimeoutMillis

    @Option(help: "SWIM/Lifeguard: shortest suspicion timeout (with enough confirmations), ms.")
    var suspicionMinMs: UInt64 = SWIMConfiguration().suspicionMinMillis

    @Option(help: "SWIM/Lifeguard: suspicion timeout without confirmations, ms.")
    var suspicionMaxMs: UInt64 = SWIMConfiguration().suspicionMaxMillis

    @Option(help: "Replication: milliseconds between anti-entropy rounds.")
    var antiEntropyMs: UInt64 = ReplicationConfiguration().antiEntropyIntervalMillis

    @Option(help: "History: milliseconds between compactions of the change log (what every member holds leaves it).")
    var compactionMs: UInt64 = ReplicationConfiguration().compactionIntervalMillis

    @Option(help: "History: hours a dead member still holds compaction back (if it returns later it is caught up by state transfer).")
    var deadHorizonHours: Double = Double(ReplicationConfiguration().deadMemberHorizonMillis) / 3_600_000

    @Option(help: "Reject remote changes stamped more than this many ms ahead of the local clock.")
    var maxDriftMs: UInt64 = 60_000

    @Option(help: "Largest accepted request body, in bytes.")
    var maxBody: Int = NodeConfiguration.defaultMaxBodyBytes

    @Option(help: "Token signing secret (default: $STOA_TOKEN_SECRET, else a random one kept in the data folder).")
    var tokenSecret: String?

    @Option(help: "Auth token lifetime in seconds.")
    var tokenLifetime: Double = 432_000

    @Option(help: "bcrypt cost for password hashes (4...31).")
    var bcryptCost: UInt8 = 10

    @Option(help: "normal (survives process crashes, PocketBase's setting) or full (fsync every commit).")
    var durability: StoaDatabase.Durability = .normal

    @Option(help: "Realtime messages a client may have waiting before it is disconnected as too slow.")
    var realtimeQueue: Int = 1024

    @Option(help: "Realtime bytes a client may have waiting (not yet written to it) before it is disconnected.")
    var realtimeQueueBytes: Int = RealtimeBroker.defaultQueueByteLimit

    @Option(help: "Realtime bytes all clients together may have waiting; a client whose messages would pass it is disconnected.")
    var realtimeTotalBytes: Int = RealtimeBroker.defaultTotalByteLimit

    @Option(help: "Failed logins one email may make at once on this node, and then per minute (429 beyond).")
    var loginFailureLimit: Int = 10

    @Option(help: "Password hashes and checks pending at once (running or waiting); more are refused with 429.")
    var passwordWorkLimit: Int = PasswordHasher.defaultMaxPending

    @Option(help: "Seconds a client connection may send nothing while none of its requests is being answered; then it is closed.")
    var idleTimeout: Int64 = NodeHTTPLimits.defaultIdleTimeoutSeconds

    @Option(help: "Seconds from a request's first byte until its head (request line and headers) must be complete; else the connection is closed.")
    var headTimeout: Int64 = NodeHTTPLimits.defaultHeadTimeoutSeconds

    @Option(help: "Client connections open at once; one more is accepted and closed at once.")
    var maxConnections: Int = NodeHTTPLimits.defaultMaxConnections

    @Option(help: "Gossip: inbound stream connections open at once; one more is closed at once.")
    var gossipMaxConnections: Int = StreamLimits.defaultMaxConnections

    @Option(help: "Gossip: stream connections not yet authenticated from one address; a new one closes the oldest.")
    var gossipMaxUnauthenticatedPerAddress: Int = StreamLimits.defaultMaxUnauthenticatedPerAddress

    @Option(help: "Gossip: stream connections not yet authenticated in all; a new one closes the oldest.")
    var gossipMaxUnauthenticated: Int = StreamLimits.defaultMaxUnauthenticated

    @Option(help: "Gossip: largest frame before a stream connection authenticated, in bytes.")
    var gossipMaxUnauthenticatedFrameBytes: Int = StreamLimits.defaultMaxUnauthenticatedFrameBytes

    @Option(help: "Gossip: ms from a stream connection's accept until its first frame must have authenticated.")
    var gossipHelloTimeoutMs: Int64 = StreamLimits.defaultHelloTimeoutMillis

    @Option(help: "Gossip: ms from a frame's first byte until it must be complete (while the node reads).")
    var gossipFrameTimeoutMs: Int64 = StreamLimits.defaultFrameTimeoutMillis

    @Option(help: "Gossip: ms an authenticated stream connection may bring nothing; then it is closed (senders reconnect).")
    var gossipIdleTimeoutMs: Int64 = StreamLimits.defaultIdleTimeoutMillis

    @Option(help: "Gossip: bytes all stream connections together may hold in incomplete frames.")
    var gossipMaxIncompleteFrameBytes: Int = StreamLimits.defaultMaxIncompleteFrameBytes

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "SMTP server for account mail (password reset, verification, email change); none: those requests answer 400.")
    var smtpHost: String?

    @Option(help: "SMTP server port (STARTTLS is used when the server offers it).")
    var smtpPort: Int = 587

    @Option(help: "SMTP user; given, the node authenticates (AUTH PLAIN or LOGIN), only over TLS or to a loopback server.")
    var smtpUser: String?

    @Option(help: "File holding the SMTP password (one line).")
    var smtpPasswordFile: String?

    @Option(help: "Sender of account mail: ADDRESS or \"Name <ADDRESS>\" (required with --smtp-host).")
    var smtpFrom: String?

    @Option(help: "PEM file of certificates to trust for the SMTP server's STARTTLS instead of the system's roots.")
    var smtpCaFile: String?

    @Option(help: "Public base URL of this service, used in the links of account mail (default: the URL the node serves; required with --smtp-host unless --http is on loopback).")
    var publicURL: String?

    /// The gossip stream bounds from the options, with `maxConnections` fitted to the descriptor limit.
    func streamLimits(maxConnections: Int) -> StreamLimits {
        StreamLimits(
            maxConnections: maxConnections, maxUnauthenticatedPerAddress: gossipMaxUnauthenticatedPerAddress,
            maxUnauthenticated: gossipMaxUnauthenticated, maxUnauthenticatedFrameBytes: gossipMaxUnauthenticatedFrameBytes,
            helloTimeout: .milliseconds(gossipHelloTimeoutMs), frameTimeout: .milliseconds(gossipFrameTimeoutMs),
            idleTimeout: .milliseconds(gossipIdleTimeoutMs), maxIncompleteFrameBytes: gossipMaxIncompleteFrameBytes
        )
    }

    func validate() throws {
        if smtpHost != nil {
            guard let from = smtpFrom, SMTPConfiguration(host: "", from: from).fromAddress.contains("@") else {
                throw ValidationError("--smtp-host needs --smtp-from (ADDRESS or \"Name <ADDRESS>\")")
            }
            guard (1...65535).contains(smtpPort) else { throw ValidationError("--smtp-port must be in 1...65535") }
            // Links default to the URL the node serves: fine on loopback (a local cluster), but a
            // node bound to 0.0.0.0 or a private address would mail links nobody can open.
            guard publicURL != nil || ["127.0.0.1", "localhost", "::1"].contains(http.host) else {
                throw ValidationError("--smtp-host with --http on \(http.host) needs --public-url (the address users open mail links at, e.g. the gateway's https://quotes.example.com)")
            }
        } else if smtpUser != nil || smtpPasswordFile != nil || smtpFrom != nil || smtpCaFile != nil {
            throw ValidationError("--smtp-user, --smtp-password-file, --smtp-from and --smtp-ca-file need --smtp-host")
        }
        if let publicURL, !(publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://")) {
            throw ValidationError("--public-url must start with http:// or https://")
        }
        guard (4...31).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be in 4...31") }
        guard realtimeQueue >= 1 else { throw ValidationError("--realtime-queue must be at least 1") }
        guard realtimeQueueBytes >= 4096, realtimeTotalBytes >= realtimeQueueBytes else {
            throw ValidationError("--realtime-queue-bytes must be at least 4096 and --realtime-total-bytes at least that")
        }
        guard loginFailureLimit >= 1, passwordWorkLimit >= 1 else { throw ValidationError("--login-failure-limit and --password-work-limit must be at least 1") }
        guard maxBody >= 1024 else { throw ValidationError("--max-body must be at least 1024 bytes") }
        guard idleTimeout > 0, headTimeout > 0 else { throw ValidationError("--idle-timeout and --head-timeout must be > 0") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be > 0") }
        guard gossipMaxConnections > 0, gossipMaxUnauthenticatedPerAddress > 0, gossipMaxUnauthenticated > 0 else {
            throw ValidationError("--gossip-max-connections, --gossip-max-unauthenticated-per-address and --gossip-max-unauthenticated must be > 0")
        }
        let maxFrame = ClusterConfiguration.defaultMaxFrameBytes
        guard (1024...maxFrame).contains(gossipMaxUnauthenticatedFrameBytes) else {
            throw ValidationError("--gossip-max-unauthenticated-frame-bytes must be in 1024...\(maxFrame)")
        }
        guard gossipHelloTimeoutMs > 0, gossipFrameTimeoutMs > 0, gossipIdleTimeoutMs > 0 else {
            throw ValidationError("--gossip-hello-timeout-ms, --gossip-frame-timeout-ms and --gossip-idle-timeout-ms must be > 0")
        }
        guard gossipMaxIncompleteFrameBytes >= maxFrame + 4 else {
            throw ValidationError("--gossip-max-incomplete-frame-bytes must hold at least one whole frame (\(maxFrame + 4) bytes)")
        }
        guard !name.isEmpty, name.utf8.count <= 64 else { throw ValidationError("--name must be 1 to 64 bytes") }
        if gossip == nil, join != nil { throw ValidationError("--join needs --gossip") }
        if let gossip, ["0.0.0.0", "::", ""].contains(gossip.host) || gossip.host.hasPrefix("[") {
            throw ValidationError("--gossip must be a concrete address: it is announced to the other members")
        }
        guard probeTimeoutMs > 0, probeTimeoutMs < probeIntervalMs else { throw ValidationError("--probe-timeout-ms must be > 0 and below --probe-interval-ms") }
        guard suspicionMinMs > 0, suspicionMinMs <= suspicionMaxMs else { throw ValidationError("--suspicion-min-ms must be > 0 and at most --suspicion-max-ms") }
        guard antiEntropyMs >= 50 else { throw ValidationError("--anti-entropy-ms must be at least 50") }
        guard compactionMs >= 100 else { throw ValidationError("--compaction-ms must be at least 100") }
        guard deadHorizonHours >= 0, deadHorizonHours <= 24 * 365 else { throw ValidationError("--dead-horizon-hours must be in 0...8760") }
        _ = try joinAddresses()
    }

    func joinAddresses() throws -> [MemberAddress] {
        try (join ?? "").split(separator: ",").map { part in
            guard let address = HostPort(argument: part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--join: \"\(part)\" is not HOST:PORT")
            }
            return MemberAddress(host: address.host, port: address.port)
        }
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "stoa.node.\(name)")

        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let path = URL(fileURLWithPath: data).appendingPathComponent("stoa.sqlite").path
        let database = try StoaDatabase(path: path, nodeName: name, durability: durability, backgroundCheckpoints: true, maxDriftMillis: maxDriftMs)
        var configuration = NodeConfiguration(
            name: name, dataDirectory: data, httpHost: http.host, httpPort: http.port, maxBodyBytes: maxBody,
            tokenSecret: [tokenSecret, ProcessInfo.processInfo.environment["STOA_TOKEN_SECRET"]].compactMap { $0 }.first { !$0.isEmpty },
            tokenLifetimeSeconds: tokenLifetime, bcryptCost: bcryptCost, durability: durability,
            realtimeQueueLimit: realtimeQueue, realtimeQueueByteLimit: realtimeQueueBytes, realtimeTotalByteLimit: realtimeTotalBytes
        )
        configuration.loginFailureLimit = loginFailureLimit
        configuration.compactionIntervalMillis = compactionMs
        configuration.passwordWorkLimit = passwordWorkLimit
        configuration.publicURL = publicURL
        if let smtpHost, let smtpFrom {
            var password: String?
            if let smtpPasswordFile {
                password = try String(contentsOfFile: smtpPasswordFile, encoding: .utf8)
                    .trimmingCharacters(in: .newlines)
            }
            configuration.mailSender = try SMTPMailSender(configuration: SMTPConfiguration(
                host: smtpHost, port: smtpPort, username: smtpUser, password: password, from: smtpFrom, trustRootsFile: smtpCaFile
            ))
            logger.info("account mail through SMTP \(smtpHost):\(smtpPort) from \(smtpFrom)")
        }
        // Each client connection holds a descriptor: take what the hard limit allows, and keep the
        // connection limit within it (FileDescriptorBudget: running out stops the process).
        // Gossip streams get --gossip-max-connections, or a quarter of the limit when that is less.
        var gossipConnections = gossipMaxConnections
        let (files, clientConnections) = try FileDescriptorLimit.clientConnections(
            wanted: maxConnections, otherConnections: { limit in
                gossipConnections = min(gossipMaxConnections, max(1, limit / 4))
                return gossip == nil ? 0 : gossipConnections
            }, option: "for gossip connections"
        )
        if clientConnections < maxConnections {
            logger.warning("the file descriptor limit (\(files ?? 0)) holds \(clientConnections) client connections, not --max-connections (\(maxConnections)); more are accepted and closed at once (raise it: ulimit -n, LimitNOFILE=)")
        }
        configuration.httpLimits = NodeHTTPLimits(idleTimeout: .seconds(idleTimeout), headTimeout: .seconds(headTimeout), maxConnections: clientConnections)
        var cluster: ClusterNode?
        var keyring: ClusterKeyring?
        if let gossip {
            var swim = SWIMConfiguration()
            swim.probeIntervalMillis = probeIntervalMs
            swim.probeTimeoutMillis = probeTimeoutMs
            swim.suspicionMinMillis = suspicionMinMs
            swim.suspicionMaxMillis = suspicionMaxMs
            var replication = ReplicationConfiguration()
            replication.antiEntropyIntervalMillis = antiEntropyMs
            replication.compactionIntervalMillis = compactionMs
            replication.deadMemberHorizonMillis = UInt64(deadHorizonHours * 3_600_000)
            let clusterConfiguration = ClusterConfiguration(
                gossipHost: gossip.host, gossipPort: gossip.port, join: try joinAddresses(),
                keyring: try key.keyring(for: "a cluster node"), httpURL: "http://\(http)", swim: swim, replication: replication,
                streamLimits: streamLimits(maxConnections: gossipConnections)
            )
            keyring = clusterConfiguration.keyring
            cluster = ClusterNode(configuration: clusterConfiguration, database: database, logger: Logger(label: "stoa.cluster.\(name)"))
        }
        let app = try await buildApplication(configuration: configuration, database: database, cluster: cluster, registry: registry, logger: logger)
        logger.info("node \(name) serving http://\(http) with data in \(path)")
        let pidFile = LeaveCommand.pidFile(data: data)
        try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let member = cluster
        let keyOptions = key
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            group.addTask {
                // SIGUSR1: leave the cluster for good, then stop as on SIGTERM.
                for await _ in await UnixSignalsSequence(trapping: .sigusr1) {
                    if let member { await member.leave() }
                    await services.triggerGracefulShutdown()
                    return
                }
            }
            if let keyring {
                // SIGHUP: read the cluster key file again (key rotation without a restart).
                group.addTask { await keyOptions.reloadOnHangup(keyring, logger: logger) }
            }
            try await group.next()
            group.cancelAll()
        }
        try database.markCleanShutdown()
        logger.info("node \(name) stopped cleanly")
    }
}

extension StoaDatabase.Durability: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
