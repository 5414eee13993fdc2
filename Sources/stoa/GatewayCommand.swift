import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import StoaGateway
import StoaGossip
import StoaNode

/// `stoa gateway`: the front node. It joins the cluster's membership (holding no data), routes
/// each request to a live node, rate-limits, caches reads per user and fails over.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run the Stoa gateway (rate limiting, caching, balancing and failover in front of the nodes).",
        discussion: """
        Rate-limit policies are NAME:SCOPE:TRAFFIC:RATE:BURST with SCOPE user|ip|global and TRAFFIC reads|writes|auth|all, \
        e.g. --rate-limit ip-writes:ip:writes:10:20. Every policy that applies to a request must admit it. TRAFFIC auth is \
        POST /api/collections/*/ auth-with-password, auth-with-oauth2, auth-with-otp, auth-refresh and the request-*/confirm-* \
        account actions (they count as writes too). Without --rate-limit the policies of the [gateway] table of --config \
        apply, else \(GatewayConfiguration.defaultPolicies.joined(separator: ", ")) (the last one is PocketBase's default \
        *:auth rule, 2 requests per 3 s, per client address). \
        The client port serves the public API only (/api/..., never the nodes' /api/cluster); the gateway's dashboard /_/, \
        /api/gateway and /metrics are on --admin-http. Request bodies: at most 32 MiB, POST /api/realtime 64 KiB (else 413). \
        Stops on SIGINT or SIGTERM.
        """
    )

    @Option(help: "HTTP listen address HOST:PORT (default: [gateway] http of --config, else 127.0.0.1:8090).")
    var http: HostPort?

    @Option(help: "Admin listener HOST:PORT for /_/, /api/gateway and /metrics, plain HTTP; port 0 picks a free one (default: [gateway] admin_http of --config, else \(GatewayConfiguration.defaultAdminHTTP)).")
    var adminHttp: HostPort?

    @Option(help: "Gossip addresses of nodes to join, comma separated (default: every node of --config).")
    var join: String?

    @Option(help: "The gateway's own gossip address HOST:PORT (UDP; default: the HTTP host, a free port).")
    var gossip: HostPort?

    @Option(help: "Member name in the cluster's membership (each gateway needs its own; default: the name of the --config gateway, else gateway). With several [[gateway]] tables in --config it picks one.")
    var name: String?

    @Option(help: "Milliseconds between the rate-limit reports sent to the other gateways, so limits hold for all gateways together; 0: this gateway's limits are its own.")
    var limitExchangeMs: UInt64 = 50

    @Option(help: "Cluster file whose [gateway] table and nodes give defaults (read only when given).")
    var config: String?

    @OptionGroup var clusterKeyOptions: ClusterKeyOptions

    @Option(help: "The nodes' token signing secret (default: $STOA_TOKEN_SECRET); needed to limit and cache per user.")
    var tokenSecret: String?

    @Option(help: "File holding the token signing secret (first line).")
    var tokenSecretFile: String?

    @Option(name: .customLong("rate-limit"), help: "A rate-limit policy NAME:SCOPE:TRAFFIC:RATE:BURST (repeatable).")
    var rateLimits: [String] = []

    @Flag(help: "Turn rate limiting off.")
    var noRateLimit = false

    @Option(name: .customLong("trusted-proxy"), help: "CIDR of a proxy whose X-Forwarded-For is believed (repeatable).")
    var trustedProxies: [String] = []

    @Option(help: "Most client keys the limiter tracks.")
    var maxLimiterKeys: Int = 100_000

    @Option(help: "Response cache budget in bytes; 0 turns caching off.")
    var cacheBytes: Int?

    @Option(help: "Milliseconds a cached read stays fresh.")
    var cacheTtlMs: UInt64 = 5_000

    @Option(help: "Seconds past freshness a cached read may be served while every node is down.")
    var cacheStaleSeconds: UInt64 = 300

    @Option(help: "PEM certificate chain for TLS (with --tls-key); plain HTTP without.")
    var tlsCert: String?

    @Option(help: "PEM private key for TLS.")
    var tlsKey: String?

    @Option(help: "Seconds to wait for one node's answer.")
    var upstreamTimeout: Int64 = 30

    @Option(help: "Seconds a client connection may send nothing while none of its requests is being answered; then it is closed.")
    var idleTimeout: Int64 = GatewayServerLimits.defaultIdleTimeoutSeconds

    @Option(help: "Seconds from a request's first byte until its head (request line and headers) must be complete; else the connection is closed.")
    var headTimeout: Int64 = GatewayServerLimits.defaultHeadTimeoutSeconds

    @Option(help: "Client connections open at once; one more is accepted and closed at once.")
    var maxConnections: Int = GatewayServerLimits.defaultMaxConnections

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    /// Descriptors set aside for connections to nodes (the upstream pool keeps at most 64 idle
    /// per node and loop) when the client-connection limit is fitted to the descriptor limit;
    /// a quarter of the limit when that is less.
    static let upstreamDescriptors = 1024

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if let cacheBytes, cacheBytes < 0 { throw ValidationError("--cache-bytes must be >= 0") }
        guard cacheTtlMs > 0 else { throw ValidationError("--cache-ttl-ms must be > 0") }
        guard maxLimiterKeys > 0 else { throw ValidationError("--max-limiter-keys must be > 0") }
        guard upstreamTimeout > 0 else { throw ValidationError("--upstream-timeout must be > 0") }
        guard idleTimeout > 0 else { throw ValidationError("--idle-timeout must be > 0") }
        guard headTimeout > 0 else { throw ValidationError("--head-timeout must be > 0") }
        guard maxConnections > 0 else { throw ValidationError("--max-connections must be > 0") }
    }

    func run() async throws {
        // The gateway's tasks run on NIO's event loops, so a proxied request stays on the thread
        // of its client's connection (see GatewayProxy).
        runConcurrencyOnEventLoops()
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let file = try config.map { try ClusterFile(path: $0) }
        let defaults: ClusterFile.Gateway?
        do { defaults = try file?.gateway(named: self.name, path: config ?? "") } catch { throw ValidationError("--config: \(error)") }
        let name = self.name ?? defaults?.name ?? "gateway"
        guard let http = http ?? defaults?.http ?? HostPort(argument: "127.0.0.1:8090") else { throw ValidationError("--http") }
        guard let admin = adminHttp ?? defaults?.adminHTTP ?? HostPort(argument: GatewayConfiguration.defaultAdminHTTP) else {
            throw ValidationError("--admin-http")
        }
        if admin.port != 0, admin.port == http.port, admin.host == http.host {
            throw ValidationError("--admin-http must differ from --http (\(http))")
        }
        let joinText = join ?? file.map { $0.nodes.map(\.gossip.description).joined(separator: ",") } ?? ""
        let seeds = try joinText.split(separator: ",").map { part in
            guard let address = HostPort(argument: part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--join: \"\(part)\" is not HOST:PORT")
            }
            return MemberAddress(host: address.host, port: address.port)
        }
        guard !seeds.isEmpty else { throw ValidationError("the gateway needs --join (gossip addresses of nodes) or --config") }
        let gossipAddress = gossip ?? defaults?.gossip ?? HostPort(argument: "\(http.host):0")!
        if ["0.0.0.0", "::", ""].contains(gossipAddress.host) {
            throw ValidationError("--gossip must be a concrete address: it is announced to the nodes")
        }

        let keyring = try clusterKeyOptions.keyring(for: "the gateway")

        var secret = tokenSecret
        if secret == nil, let tokenSecretFile { secret = try ClusterKeyOptions.firstLine(ofFile: tokenSecretFile, option: "--token-secret-file") }
        if secret == nil { secret = ProcessInfo.processInfo.environment["STOA_TOKEN_SECRET"].flatMap { $0.isEmpty ? nil : $0 } }

        let policyTexts = noRateLimit ? [] : (!rateLimits.isEmpty ? rateLimits : (defaults?.rateLimits ?? GatewayConfiguration.defaultPolicies))
        let policies = try policyTexts.map { text in
            do { return try RateLimitPolicy(parsing: text) } catch { throw ValidationError("--rate-limit \(text): \(error)") }
        }
        do { try RateLimiter.validate(policies, maxKeys: maxLimiterKeys) } catch { throw ValidationError("rate limits: \(error)") }
        let proxies = try (trustedProxies.isEmpty ? (defaults?.trustedProxies ?? []) : trustedProxies).map { text in
            do { return try CIDR(parsing: text) } catch { throw ValidationError("--trusted-proxy \(text): \(error)") }
        }

        let logger = Logger(label: "stoa.gateway")
        // Each client connection holds a descriptor: take what the hard limit allows, and keep the
        // connection limit within it (FileDescriptorBudget: running out stops the process).
        let (files, clientConnections) = try FileDescriptorLimit.clientConnections(
            wanted: maxConnections, otherConnections: { min(Self.upstreamDescriptors, $0 / 4) }, option: "for connections to nodes"
        )
        if clientConnections < maxConnections {
            logger.warning("the file descriptor limit (\(files ?? 0)) holds \(clientConnections) client connections, not --max-connections (\(maxConnections)); more are accepted and closed at once (raise it: ulimit -n, LimitNOFILE=)")
        }

        let scheme = tlsCert == nil ? "http" : "https"
        let limits = GatewayServerLimits(idleTimeout: .seconds(idleTimeout), headTimeout: .seconds(headTimeout), maxConnections: clientConnections)
        let configuration = GatewayConfiguration(
            httpHost: http.host, httpPort: http.port, adminHost: admin.host, adminPort: admin.port,
            membership: .init(
                name: name, gossipHost: gossipAddress.host, gossipPort: gossipAddress.port, join: seeds, keyring: keyring, httpURL: "\(scheme)://\(http)",
                limitExchangeMillis: limitExchangeMs
            ),
            tokenSecret: secret, policies: policies, trustedProxies: proxies, maxLimiterKeys: maxLimiterKeys,
            cacheBytes: cacheBytes ?? defaults?.cacheBytes ?? (64 << 20), cacheTTLNanos: cacheTtlMs * 1_000_000,
            cacheStaleNanos: cacheStaleSeconds * 1_000_000_000, tlsCertificatePath: tlsCert, tlsKeyPath: tlsKey, limits: limits,
            upstreamTimeoutSeconds: upstreamTimeout
        )
        let gateway = try await buildGateway(configuration: configuration, registry: registry, logger: logger)
        logger.info("gateway serving \(scheme)://\(http), admin pages on http://\(admin), joining \(seeds.map(\.description).joined(separator: ","))",
                    metadata: ["policies": "\(policies.map(\.name))", "cacheBytes": "\(configuration.cacheBytes)", "tokens": "\(secret != nil)",
                               "maxConnections": "\(clientConnections)", "fileDescriptors": "\(files.map(String.init) ?? "?")"])
        let keyOptions = clusterKeyOptions
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gateway.run() }
            // SIGHUP: read the cluster key file again (key rotation without a restart).
            group.addTask { await keyOptions.reloadOnHangup(keyring, logger: logger) }
            try await group.next()
            group.cancelAll()
        }
        logger.info("gateway stopped")
    }
}
