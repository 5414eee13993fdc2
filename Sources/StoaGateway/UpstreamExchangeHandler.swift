import NIOCore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#endif

/// The gateway's end of one keep-alive connection to a node: sends one request at a time and
/// reads the node's answer, whole (at most a byte limit) or, for a streamed request, as an
/// ``UpstreamStream`` once its head arrived. Lives on the connection's event loop; every method
/// must be called on it.
///
/// When an answer ended and the node keeps the connection open, ``onIdle`` hands it back to
/// its ``UpstreamConnectionPool``; otherwise the connection is closed. A connection that fails,
/// times out or closes fails the exchange in progress with ``UpstreamFailure``.
final class UpstreamExchangeHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// The exchange in progress: a class, so that each part of the answer updates it in place.
    private final class Exchange {
        let complete: (Result<ProxiedResponse, any Error>) -> Void
        let node: String
        let streaming: Bool
        let isHead: Bool
        let maxBytes: Int
        /// The connection carried an exchange before this one.
        let reused: Bool
        /// When the exchange fails as timed out; nil once a streamed answer's head arrived.
        var deadline: NIODeadline?
        var head: HTTPResponseHead?
        var body: ByteBuffer?
        var stream: UpstreamStream?

        init(complete: @escaping (Result<ProxiedResponse, any Error>) -> Void, node: String, streaming: Bool, isHead: Bool, maxBytes: Int,
             reused: Bool, deadline: NIODeadline) {
            self.complete = complete
            self.node = node
            self.streaming = streaming
            self.isHead = isHead
            self.maxBytes = maxBytes
            self.reused = reused
            self.deadline = deadline
        }
    }

    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var exchanges = 0
    /// A request is being written (an error caught now is the request's own).
    private var sending = false
    /// The connection's one deadline timer, and when it fires. Not moved when an exchange ends:
    /// it fires for the exchange in progress then (failing it if its deadline passed, else
    /// waiting again until that deadline), so a request schedules no timer of its own unless
    /// its deadline is earlier than the pending one.
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Called with this handler when an exchange ended and the connection can carry another.
    var onIdle: ((UpstreamExchangeHandler) -> Void)?

    var channel: (any Channel)? { context?.channel }
    var isUsable: Bool { exchange == nil && context?.channel.isActive == true }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    /// Sends `request` to the node (`host` is the `Host` header) and calls `complete` once, on the
    /// loop, with its answer; `deadline` bounds the whole answer (a streamed one: its head).
    func send(_ request: ForwardedRequest, host: String, node: String, deadline: NIODeadline, maxBytes: Int,
              complete: @escaping (Result<ProxiedResponse, any Error>) -> Void) {
        guard let context, context.channel.isActive, exchange == nil else {
            return complete(.failure(UpstreamFailure.closed))
        }
        let loop = context.eventLoop
        if timerDeadline.map({ $0 > deadline }) ?? true {
            timer?.cancel()
            arm(at: deadline, on: loop)
        }
        exchanges += 1
        exchange = Exchange(
            complete: complete, node: node, streaming: request.streaming, isHead: request.method == .HEAD, maxBytes: maxBytes,
            reused: exchanges > 1, deadline: deadline
        )

        var headers = request.headers
        headers.add(name: "Host", value: host)
        if let body = request.body {
            headers.add(name: "Content-Length", value: String(body.readableBytes))
        } else if request.method == .POST || request.method == .PUT || request.method == .PATCH {
            headers.add(name: "Content-Length", value: "0")
        }
        let head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.target, headers: headers)
        // NIO's header validator refuses a head whose fields cannot be sent (e.g. a control
        // character in a value) and tells ``errorCaught(context:error:)`` at once, while the head
        // is being written: the client's fault, not the node's.
        sending = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        sending = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let current = exchange else {
            // Nothing was asked: the connection is out of step.
            return context.close(promise: nil)
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            current.head = head
            if current.streaming {
                let stream = UpstreamStream(channel: context.channel)
                current.stream = stream
                current.deadline = nil
                current.complete(.success(ProxiedResponse(status: head.status, headers: Self.endToEnd(head.headers, isHead: false), body: .stream(stream), node: current.node)))
                return
            }
            let length = head.headers.first(name: "content-length").flatMap { Int($0) }
            if let length, length > current.maxBytes { return fail(UpstreamFailure.tooLarge) }
            current.body = context.channel.allocator.buffer(capacity: min(length ?? 0, current.maxBytes))
        case .body(var chunk):
            if let stream = current.stream { return stream.deliver(.chunk(chunk)) }
            if (current.body?.readableBytes ?? 0) + chunk.readableBytes > current.maxBytes {
                return fail(UpstreamFailure.tooLarge)
            }
            current.body?.writeBuffer(&chunk)
        case .end:
            exchange = nil
            // A connection that streamed may have stopped reading (the client was slow): not kept.
            let keepAlive = (current.head?.isKeepAlive ?? false) && !current.streaming
            if keepAlive, context.channel.isActive { onIdle?(self) } else { context.close(promise: nil) }
            if let stream = current.stream { return stream.deliver(.end(nil)) }
            guard let head = current.head else { return current.complete(.failure(UpstreamFailure.closed)) }
            let body = current.body ?? ByteBuffer()
            current.complete(.success(ProxiedResponse(
                status: head.status, headers: Self.endToEnd(head.headers, isHead: current.isHead, bodyLength: body.readableBytes),
                body: .buffer(body), node: current.node
            )))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if exchange == nil { return context.close(promise: nil) }
        fail(sending && error as? HTTPParserError == .invalidHeaderToken ? UpstreamFailure.invalidRequest : error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(UpstreamFailure.closed)
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        context.fireChannelInactive()
    }

    private func arm(at deadline: NIODeadline, on loop: any EventLoop) {
        timerDeadline = deadline
        timer = loop.scheduleTask(deadline: deadline) { [self] in
            timer = nil
            timerDeadline = nil
            guard let due = exchange?.deadline else { return }
            if due <= .now() { fail(UpstreamFailure.timedOut) } else { arm(at: due, on: loop) }
        }
    }

    /// Ends the exchange in progress with `error` and closes the connection. A connection that
    /// closed or was reset before any answer came is ``UpstreamFailure/closedBeforeAnswer(reused:)``.
    private func fail(_ error: any Error) {
        guard let current = exchange else { return }
        var error = error
        if current.head == nil, Self.isClose(error) { error = UpstreamFailure.closedBeforeAnswer(reused: current.reused) }
        exchange = nil
        context?.close(promise: nil)
        if let stream = current.stream { stream.deliver(.end(error)) } else { current.complete(.failure(error)) }
    }

    static func isClose(_ error: any Error) -> Bool {
        if let failure = error as? UpstreamFailure { return failure == .closed }
        if let error = error as? IOError { return [ECONNRESET, EPIPE].contains(error.errnoCode) }
        if let error = error as? ChannelError { return error == .ioOnClosedChannel || error == .eof || error == .alreadyClosed }
        return false
    }

    /// A node's answer headers without the hop-by-hop ones. An answer to HEAD keeps its
    /// `Content-Length` (it describes the body a GET would have); a whole answer gets the length
    /// of its body as read (`bodyLength`), so the server need not change the headers to send it.
    /// The usual answer (no hop-by-hop header but a `Content-Length` equal to the body read) is
    /// passed on as it came, without a copy.
    static func endToEnd(_ headers: HTTPHeaders, isHead: Bool, bodyLength: Int? = nil) -> HTTPHeaders {
        if let bodyLength, !isHead, onlyLength(headers, is: bodyLength) { return headers }
        var kept = HTTPHeaders()
        kept.reserveCapacity(headers.count + 4)
        for header in headers where !ForwardedRequest.isHopByHop(header.name) || (isHead && header.name.lowercased() == "content-length") {
            kept.add(name: header.name, value: header.value)
        }
        if let bodyLength, !isHead { kept.add(name: "Content-Length", value: String(bodyLength)) }
        return kept
    }
}

extension UpstreamExchangeHandler {
    /// True when `headers` hold exactly one hop-by-hop header, `Content-Length`, written as
    /// `length` is (no sign, no leading zero).
    static func onlyLength(_ headers: HTTPHeaders, is length: Int) -> Bool {
        let expected = String(length)
        var lengths = 0
        for (name, value) in headers where ForwardedRequest.isHopByHop(name) {
            // Of the hop-by-hop names only content-length has 14 letters.
            guard name.utf8.count == 14, lengths == 0, value == expected else { return false }
            lengths += 1
        }
        return lengths == 1
    }
}

/// Why an exchange with a node ended without an answer.
enum UpstreamFailure: Error, Equatable {
    /// The connection closed before the answer ended.
    case closed
    /// The connection closed (or was reset) before any of the answer came; `reused`: it had
    /// carried an exchange before (the node may have closed it as idle while the request went out).
    case closedBeforeAnswer(reused: Bool)
    /// No complete answer before the deadline.
    case timedOut
    /// The answer is larger than the gateway buffers.
    case tooLarge
    /// The request cannot be sent as it is (refused before any byte left the gateway).
    case invalidRequest
    /// The node announced a URL the gateway cannot send to (only `http://HOST:PORT` is spoken).
    case unusableURL(String)
}
