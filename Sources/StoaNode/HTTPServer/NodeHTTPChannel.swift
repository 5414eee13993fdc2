import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// A node's HTTP/1.1 connections: Hummingbird's ``HTTP1Channel`` held to ``NodeHTTPLimits``.
/// At most `maxConnections` are open (one more is accepted and closed at once, unread), each
/// request's head must arrive within the head timeout (``RequestHeadDeadline``), an idle
/// connection closes (``HTTPIdleTimer``), and a request NIO's decoder cannot parse is a 400 in
/// PocketBase's envelope and a close (``HTTPProtocolErrorHandler``), never a 500.
struct NodeHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let limits: NodeHTTPLimits
    let counters: NodeHTTPCounters

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard counters.admit() else {
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(RefusedConnectionHandler())
                return try Value(wrappingChannelSynchronously: channel)
            }
        }
        let counters = counters
        channel.closeFuture.whenComplete { _ in counters.release() }
        let (bytes, parts) = RequestHeadDeadline(timeout: limits.headTimeout) { counters.closed(.headTimeout) }.makeHandlers()
        let idleTimeout = limits.idleTimeout
        // Called on the channel's event loop: the handlers never leave it.
        do {
            try channel.pipeline.syncOperations.addHandler(bytes)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return http1.setup(channel: channel, logger: logger).assumeIsolated().flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            // In the end: decoder, head deadline, protocol errors, idle timer, Hummingbird's codec.
            try pipeline.addHandler(HTTPIdleTimer(timeout: idleTimeout) { counters.closed(.idle) }, position: .after(decoder))
            try pipeline.addHandler(HTTPProtocolErrorHandler { counters.closed(.malformed) }, position: .after(decoder))
            try pipeline.addHandler(parts, position: .after(decoder))
            return value
        }.nonisolated()
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// Hummingbird's HTTP/1.1 server with a node's bounds (``NodeHTTPChannel``).
    static func node(limits: NodeHTTPLimits, counters: NodeHTTPCounters) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            NodeHTTPChannel(http1: HTTP1Channel(responder: responder), limits: limits, counters: counters)
        }
    }
}
