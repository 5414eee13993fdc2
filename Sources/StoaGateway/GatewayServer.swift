import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The gateway's HTTP/1.1 server (HTTPS when given a TLS context), built from SwiftNIO's codec
/// and pipelining handlers with ``GatewayConnectionHandler`` answering: a proxied request is
/// read, sent to a node and answered on its connection's event loop, without a task.
///
/// A swift-service-lifecycle service: binds, reports the bound port to `onRunning`, and on
/// graceful shutdown stops accepting, ends streamed answers (server-sent events would not end on
/// their own), lets each connection finish the request in progress, and after `drainTimeout`
/// closes what is still open. `group` must be the group of the proxy's ``UpstreamConnections``,
/// so a request's node connection lives on the request's loop.
public struct GatewayServer: Service {
    let host: String
    let port: Int
    let group: any EventLoopGroup
    let tls: NIOSSLContext?
    let responder: GatewayResponder
    let maxBodyBytes: Int
    let drainTimeout: TimeAmount
    let onRunning: @Sendable (Int) async -> Void
    let logger: Logger

    public init(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, tls: NIOSSLContext?, responder: GatewayResponder,
                maxBodyBytes: Int, drainTimeout: TimeAmount = .seconds(5), logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void) {
        self.host = host
        self.port = port
        self.group = group
        self.tls = tls
        self.responder = responder
        self.maxBodyBytes = maxBodyBytes
        self.drainTimeout = drainTimeout
        self.onRunning = onRunning
        self.logger = logger
    }

    public func run() async throws {
        let quiesce = ServerQuiescingHelper(group: group)
        let connections = GatewayConnectionRegistry()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiesce.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [tls, responder, maxBodyBytes, connections] channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try pipeline.addHandler(GatewayConnectionHandler(responder: responder, maxBodyBytes: maxBodyBytes, registry: connections))
                }
            }
            .bind(host: host, port: port)
            .get()
        let boundPort = channel.localAddress?.port ?? port
        // The same line as the nodes' (Hummingbird's): tools and tests read the port from it.
        logger.info("Server started and listening on \(host):\(boundPort)")
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
