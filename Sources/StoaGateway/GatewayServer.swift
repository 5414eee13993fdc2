import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import StoaNode

/// The gateway's HTTP/1.1 server (HTTPS when given a TLS context), built from SwiftNIO's codec
/// with ``GatewayConnectionHandler`` answering (in order, one at a time): a proxied request is
/// read, sent to a node and answered on its connection's event loop, without a task. One runs
/// for the clients (``Role/api``) and one for the gateway's own pages (``Role/admin``).
///
/// Every connection is held to ``GatewayServerLimits``: at most `maxConnections` open (one more
/// is accepted and closed at once), an idle timeout, a deadline for each request's head
/// (``RequestHeadDeadline``), body limits (those three kept by ``GatewayConnectionHandler``), and
/// a malformed request is a 400 in PocketBase's envelope and a close (written by the connection
/// handler too). A failed accept (out of file descriptors) pauses accepting for a second
/// (``AcceptErrorBackoff``) instead of spinning.
///
/// A swift-service-lifecycle service: binds, reports the bound port to `onRunning`, and on
/// graceful shutdown stops accepting, ends streamed answers (server-sent events would not end on
/// their own), lets each connection finish the request in progress, and after `drainTimeout`
/// closes what is still open. `group` must be the group of the proxy's ``UpstreamConnections``,
/// so a request's node connection lives on the request's loop.
public struct GatewayServer: Service {
    /// What a listener serves.
    public enum Role: String, Sendable {
        /// The public port: the public API, proxied (``GatewayResponder/respond(to:)``).
        case api
        /// The admin listener: `/_/`, `/api/gateway`, `/metrics` (``GatewayResponder/respondAdmin(to:)``).
        case admin
    }

    let host: String
    let port: Int
    let group: any EventLoopGroup
    let tls: NIOSSLContext?
    let responder: GatewayResponder
    let role: Role
    let limits: GatewayServerLimits
    let drainTimeout: TimeAmount
    let onRunning: @Sendable (Int) async -> Void
    let logger: Logger

    public init(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, tls: NIOSSLContext?, responder: GatewayResponder,
                role: Role = .api, limits: GatewayServerLimits = GatewayServerLimits(), drainTimeout: TimeAmount = .seconds(5), logger: Logger,
                onRunning: @escaping @Sendable (Int) async -> Void) {
        self.host = host
        self.port = port
        self.group = group
        self.tls = tls
        self.responder = responder
        self.role = role
        self.limits = limits
        self.drainTimeout = drainTimeout
        self.onRunning = onRunning
        self.logger = logger
    }

    public func run() async throws {
        let quiesce = ServerQuiescingHelper(group: group)
        let counters = GatewayServerCounters(listener: role.rawValue)
        limits.exportGauges(listener: role.rawValue)
        let connections = GatewayConnectionRegistry(maxConnections: limits.maxConnections, counters: counters)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(AcceptErrorBackoff(counter: counters.acceptErrors))
                    try pipeline.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [tls, responder, role, limits, connections, counters] channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    guard connections.admit() else {
                        try pipeline.addHandler(RefusedConnectionHandler())
                        return
                    }
                    channel.closeFuture.whenComplete { _ in connections.release() }
                    if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
                    // The deadline's byte watcher also tells the connection handler when bytes
                    // last came (its idle timeout); the connection handler tells the deadline
                    // of heads, request ends and answer ends.
                    let headDeadline = RequestHeadDeadline(timeout: limits.headTimeout) { counters.closed(.headTimeout) }
                    try pipeline.addHandler(headDeadline.makeByteWatcher())
                    // NIO's request decoder and response encoder, without its pipelining handler
                    // (the connection handler answers one request at a time itself) and not
                    // paired: the encoder does not learn each request's method, so it can be
                    // passed by the heads the connection handler encodes itself (``EncodedHead``);
                    // the connection handler sends no body to HEAD itself.
                    // No outbound header validation: every header the gateway writes is either
                    // parsed (by llhttp, strictly) from a node's answer, so it holds no control
                    // character, or its own (constants, numbers, and policy names limited to
                    // A-Z a-z 0-9 - _ .). Checking each again cost a cache hit about 2 µs.
                    // No framing by the encoder: the connection handler sets the `Content-Length`
                    // or chunked coding of every answer that goes through it itself.
                    var encoder = HTTPResponseEncoder.Configuration()
                    encoder.automaticallySetFramingHeaders = false
                    try pipeline.addHandler(HTTPResponseEncoder(configuration: encoder))
                    try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try pipeline.addHandler(GatewayConnectionHandler(
                        responder: responder, role: role, limits: limits, headDeadline: headDeadline, registry: connections, counters: counters
                    ))
                }
            }
            .bind(host: host, port: port)
            .get()
        let boundPort = channel.localAddress?.port ?? port
        switch role {
        case .api:
            // The same line as the nodes' (Hummingbird's): tools and tests read the port from it.
            logger.info("Server started and listening on \(host):\(boundPort)")
        case .admin:
            logger.info("Admin pages listening on \(host):\(boundPort) (/_/, /api/gateway, /metrics)")
        }
        await onRunning(boundPort)
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await channel.closeFuture.get()
            } onGracefulShutdown: {
                quiesce.initiateShutdown(promise: nil)
                connections.endStreams()
            }
        } onCancel: {
            channel.close(promise: nil)
        }
        // The listening socket is closed; wait (bounded) for the connections to finish their
        // requests, then close what is left.
        connections.endStreams()
        let loop = group.any()
        let done = loop.makePromise(of: Void.self)
        let deadline = loop.scheduleTask(in: drainTimeout) { done.succeed() }
        quiesce.initiateShutdown(promise: done)
        try? await done.futureResult.get()
        deadline.cancel()
        connections.closeAll()
    }
}
