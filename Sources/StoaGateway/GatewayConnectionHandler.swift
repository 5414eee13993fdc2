import NIOCore
import NIOHTTP1
import StoaNode

/// One client connection of the gateway's HTTP/1.1 server (after NIO's codec and pipelining
/// handler, so requests come one at a time): reads a request whole, at most `maxBodyBytes` of
/// body (more is a 413 and the connection closes), has the ``GatewayResponder`` answer it on the
/// connection's loop and writes the answer: a whole body with `Content-Length`, a streamed one
/// chunked as it arrives, reading from the node only while the client keeps up.
final class GatewayConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let responder: GatewayResponder
    let maxBodyBytes: Int
    private var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false
    private var stream: UpstreamStream?
    private var peerIP = ""

    init(responder: GatewayResponder, maxBodyBytes: Int) {
        self.responder = responder
        self.maxBodyBytes = maxBodyBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        peerIP = context.channel.remoteAddress?.ipAddress ?? ""
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            tooLarge = false
            // The gateway reads the whole body before forwarding: a client waiting for leave to
            // send it gets it at once (the node never sees the Expect header).
            if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            guard !tooLarge else { return }
            if body.readableBytes + chunk.readableBytes > maxBodyBytes {
                tooLarge = true
                body = ByteBuffer()
            } else {
                body.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            if tooLarge {
                return write(GatewayResponse(PBError.tooLarge), for: head, keepAlive: false)
            }
            let request = GatewayRequest(head: head, body: body, peerIP: peerIP, eventLoop: context.eventLoop)
            body = ByteBuffer()
            responder.respond(to: request).whenComplete { [self] result in
                switch result {
                case .success(let response): write(response, for: head, keepAlive: head.isKeepAlive)
                case .failure(let error): write(GatewayResponder.unavailable(error), for: head, keepAlive: head.isKeepAlive)
                }
            }
        }
    }

    /// Writes `response` to the client; closes the connection after it unless `keepAlive`.
    private func write(_ response: GatewayResponse, for request: HTTPRequestHead, keepAlive: Bool) {
        guard let context, context.channel.isActive else {
            if case .stream(let stream) = response.body { stream.cancel() }
            return
        }
        var headers = response.headers
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        switch response.body {
        case .buffer(let buffer):
            if request.method != .HEAD || !headers.contains(name: "content-length") {
                headers.replaceOrAdd(name: "Content-Length", value: String(buffer.readableBytes))
            }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))), promise: nil)
            if buffer.readableBytes > 0, request.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
            end(context, keepAlive: keepAlive)
        case .stream(let stream):
            self.stream = stream
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))), promise: nil)
            stream.start { [self] event in
                guard let context = self.context, self.stream === stream else { return }
                switch event {
                case .chunk(let chunk):
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil)
                    if !context.channel.isWritable { stream.pause() }
                case .end(let error):
                    self.stream = nil
                    // A stream cut by the node cannot be ended cleanly: the client sees the close.
                    if error != nil { context.close(promise: nil) } else { end(context, keepAlive: keepAlive) }
                }
            }
        }
    }

    private func end(_ context: ChannelHandlerContext, keepAlive: Bool) {
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { stream?.resume() }
        context.fireChannelWritabilityChanged()
    }

    /// A malformed request (NIO's error handler has answered 400) or a failed connection: the
    /// connection closes.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stream?.cancel()
        stream = nil
        context.fireChannelInactive()
    }
}
