import NIOCore
import NIOHTTP1

/// Answers a request NIO's HTTP decoder cannot parse (a bad request line, header, chunk size or
/// `Content-Length`, headers too large) with PocketBase's 400 envelope and `Connection: close`,
/// counts it (`onMalformed`), closes the connection once the answer is out, and passes the error
/// on. Placed right after the decoder (in place of NIO's `HTTPServerProtocolErrorHandler`, whose
/// 400 has no body) in a node's server; the gateway's connection handler writes the same 400
/// itself (``writeBadRequest(_:)``), one pipeline hop fewer per request part.
///
/// Contract:
/// - When no answer is being written, the 400 goes out at once, even while the request's
///   handler still runs (a bad chunk in a body): the decoder is done with the connection.
/// - When an answer is being written, that answer ends first, then the 400 follows.
/// - After the 400 nothing else is written on the connection (a later answer of the request's
///   handler, or a server's own bare 400, is dropped).
package final class HTTPProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPServerRequestPart
    package typealias InboundOut = HTTPServerRequestPart
    package typealias OutboundIn = HTTPServerResponsePart
    package typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case reading
        /// A parse error came while an answer was being written: the 400 follows its end.
        case answerAfterCurrent
        /// The 400 was written: nothing more goes out.
        case answered
    }

    private let onMalformed: @Sendable () -> Void
    private var state = State.reading
    /// An answer's head was written and its end not yet.
    private var answering = false

    package init(onMalformed: @escaping @Sendable () -> Void) {
        self.onMalformed = onMalformed
    }

    static let body = ByteBuffer(bytes: PBError.badRequest().body)

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, case .reading = state else {
            context.fireErrorCaught(error)
            return
        }
        onMalformed()
        if answering {
            state = .answerAfterCurrent
        } else {
            answer(context: context)
        }
        context.fireErrorCaught(error)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .answered = state {
            promise?.succeed()
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code < 200: break
        case .head: answering = true
        case .body: break
        case .end:
            answering = false
            if case .answerAfterCurrent = state {
                context.write(data, promise: promise)
                answer(context: context)
                return
            }
        }
        context.write(data, promise: promise)
    }

    private func answer(context: ChannelHandlerContext) {
        state = .answered
        Self.writeBadRequest(context)
    }

    /// Writes PocketBase's 400 with `Connection: close` from `context` (a handler whose outbound
    /// parts are `HTTPServerResponsePart`s) and closes the connection once it is out. The gateway's
    /// connection handler answers a malformed request with it itself.
    package static func writeBadRequest(_ context: ChannelHandlerContext) {
        let headers: HTTPHeaders = [
            "Content-Type": "application/json", "Content-Length": String(body.readableBytes), "Connection": "close",
        ]
        context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
