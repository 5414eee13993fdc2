import NIOCore
import NIOHTTP1
import StoaNode

/// Answers a request NIO's HTTP decoder cannot parse (a bad request line, header or chunk size,
/// headers too large) with PocketBase's 400 envelope and `Connection: close`, counts it, and
/// passes the error on (the connection handler then closes the connection). When an answer is
/// already being written on the connection it sends nothing and the connection just closes.
///
/// In place of NIO's `HTTPServerProtocolErrorHandler` (same position and bookkeeping), whose 400
/// has no body.
final class GatewayProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let counters: GatewayServerCounters
    private var answering = false

    init(counters: GatewayServerCounters) { self.counters = counters }

    static let body = ByteBuffer(bytes: PBError.badRequest().body)

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        counters.closed(.malformed)
        // The decoder is done with this connection: the answer must go out now.
        if !answering {
            let headers: HTTPHeaders = [
                "Content-Type": "application/json", "Content-Length": String(Self.body.readableBytes), "Connection": "close",
            ]
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(Self.body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code < 200: break
        case .head: answering = true
        case .body: break
        case .end: answering = false
        }
        context.write(data, promise: promise)
    }
}
