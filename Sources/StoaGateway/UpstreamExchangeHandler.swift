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

    /// The exchange in progress: its ``ProxyCall``, which each part of the answer updates in place.
    private var exchange: ProxyCall?
    private var context: ChannelHandlerContext?
    private var exchanges = 0
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

    /// Sends `call`'s request to the node (`host` is the `Host` header) and tells `call` once, on
    /// the loop, how it ended (``ProxyCall/finished(_:)``); the call's deadline bounds the whole
    /// answer (a streamed one: its head).
    func send(_ call: ProxyCall, host: String) {
        guard let context, context.channel.isActive, exchange == nil else {
            return call.finished(.failure(UpstreamFailure.closed))
        }
        let loop = context.eventLoop
        if let deadline = call.deadline, timerDeadline.map({ $0 > deadline }) ?? true {
            timer?.cancel()
            arm(at: deadline, on: loop)
        }
        exchanges += 1
        call.reused = exchanges > 1
        exchange = call

        // The call's headers, edited in place (taken out of the call, so not copied) and kept
        // with it again for another attempt (which replaces the Host).
        var headers = call.takeHeaders()
        let (method, target, body) = (call.request.method, call.request.target, call.request.body)
        headers.replaceOrAdd(name: "Host", value: host)
        if let body {
            headers.replaceOrAdd(name: "Content-Length", value: String(body.readableBytes))
        } else {
            // The methods that carry a body, matched by case (NIO's `==` compares their names as
            // text; see HTTPMethod+Cases).
            switch method {
            case .POST, .PUT, .PATCH: headers.replaceOrAdd(name: "Content-Length", value: "0")
            default: break
            }
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)
        call.keepHeaders(headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let current = exchange else {
            // Nothing was asked: the connection is out of step.
            return context.close(promise: nil)
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            current.head = head
            if current.request.streaming {
                let stream = UpstreamStream(channel: context.channel)
                current.stream = stream
                current.deadline = nil
                current.finished(.success(ProxiedResponse(status: head.status, headers: Self.endToEnd(head.headers, isHead: false), body: .stream(stream), node: current.lease.name)))
                return
            }
            let length = head.headers.first(name: "content-length").flatMap { Int($0) }
            if let length, length > current.maxBytes { return fail(UpstreamFailure.tooLarge) }
        case .body(var chunk):
            if let stream = current.stream { return stream.deliver(.chunk(chunk)) }
            if (current.body?.readableBytes ?? 0) + chunk.readableBytes > current.maxBytes {
                return fail(UpstreamFailure.tooLarge)
            }
            // The usual answer's body comes in one piece: kept as read (a slice of the read
            // buffer, held until the answer is written; the cache keeps a copy), not copied.
            if current.body == nil { current.body = chunk } else { current.body!.writeBuffer(&chunk) }
        case .end:
            exchange = nil
            // A connection that streamed may have stopped reading (the client was slow): not kept.
            let keepAlive = (current.head?.isKeepAlive ?? false) && !current.request.streaming
            if keepAlive, context.channel.isActive { onIdle?(self) } else { context.close(promise: nil) }
            if let stream = current.stream { return stream.deliver(.end(nil)) }
            guard let head = current.head else { return current.finished(.failure(UpstreamFailure.closed)) }
            let body = current.body ?? ByteBuffer()
            current.finished(.success(ProxiedResponse(
                status: head.status, headers: Self.endToEnd(head.headers, isHead: current.request.method.isHEAD, bodyLength: body.readableBytes),
                body: .buffer(body), node: current.lease.name
            )))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if exchange == nil { return context.close(promise: nil) }
        fail(error)
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
        if let stream = current.stream { stream.deliver(.end(error)) } else { current.finished(.failure(error)) }
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
    /// The node announced a URL the gateway cannot send to (only `http://HOST:PORT` is spoken).
    case unusableURL(String)
}
