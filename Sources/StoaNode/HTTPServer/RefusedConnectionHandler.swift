import NIOCore

/// The whole pipeline of a connection over a server's connection limit (the gateway's, a
/// node's HTTP server, a node's gossip port): it closes the connection as soon as it is
/// active, having read nothing.
package final class RefusedConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer

    package init() {}

    package func channelActive(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
