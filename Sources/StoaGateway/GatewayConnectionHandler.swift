import NIOCore
import NIOHTTP1
import StoaNode

/// One client connection of the gateway's HTTP/1.1 server, right after NIO's request decoder and
/// response encoder (``GatewayServer``). Answers requests one at a time and in order: a request
/// read while an answer is being written is held (``HeldRequestParts``) and the connection reads
/// nothing more until that answer ended, as NIO's pipelining handler would (one pipeline hop
/// fewer per request part and per answer part); the same while the client does not read its
/// answers (more than the channel's high-water mark unsent). Reads a request whole, at most the
/// body limit of its route (``GatewayServerLimits``; more is a 413 and the connection closes),
/// has the ``GatewayResponder`` answer it on the connection's loop (the public API or, on the
/// admin listener, the gateway's own pages) and writes the answer: a whole body with
/// `Content-Length` (to HTTP/1.1 kept alive as its head's bytes past NIO's encoder,
/// ``EncodedHead``: a cache hit's prepared, others encoded here), a streamed one chunked as it
/// arrives, reading from the node only while the client keeps up. Closes the connection when the
/// client sent no byte (as its ``RequestHeadDeadline`` saw them arrive) and read none of its
/// answers down for the idle timeout while nothing of it is being answered; tells that deadline
/// of each head, request end and answer end. Answers a request NIO's decoder cannot parse with
/// PocketBase's 400 (after the answers before it). On graceful shutdown
/// (`ChannelShouldQuiesceEvent`) an idle connection closes at once, a busy one after the answer
/// in progress.
final class GatewayConnectionHandler: ChannelDuplexHandler, GatewayAnswerTarget, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let responder: GatewayResponder
    let role: GatewayServer.Role
    let limits: GatewayServerLimits
    let headDeadline: RequestHeadDeadline
    let registry: GatewayConnectionRegistry?
    let counters: GatewayServerCounters?
    /// Checks the idle timeout: one timer per connection, moved on only when it fires.
    private var idleTimer: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    /// NIO's response encoder: a prepared answer's bytes are written from its place, past it.
    private var encoderContext: ChannelHandlerContext?
    private var channel: (any Channel)?
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var bodyLimit = 0
    private var isSubscription = false
    private var tooLarge = false
    /// A request was read whole and its answer has not been written yet.
    private var awaitingAnswer = false
    /// The head of the request a ``GatewayProxiedCall`` is answering (through ``answered(_:)``).
    private var answering: HTTPRequestHead?
    private var stream: UpstreamStream?
    private var peerIP = ""
    /// The identity of the last `Authorization` this connection sent (a client repeats it).
    private var token: RememberedToken?
    /// A malformed request was answered 400: nothing more goes out, the connection closes.
    private var refusedMalformed = false
    /// The last answer ended with a close (or shutdown began): nothing more is read.
    private var closing = false
    /// Graceful shutdown began: the answer in progress is the last.
    private var quiescing = false
    /// Requests read while an answer is being written, and a read asked for meanwhile.
    private var held = HeldRequestParts()
    /// Held requests are being answered (an answer ending meanwhile does not start again).
    private var delivering = false

    /// When the client last drained its answers below the channel's low-water mark.
    private var lastDrained = NIODeadline.uptimeNanoseconds(0)
    /// When the client last did something: sent bytes, or read its answers down.
    private var lastActive: NIODeadline { max(headDeadline.lastRead, lastDrained) }

    /// An answer is being written or awaited: what comes next is held.
    private var answerPending: Bool { awaitingAnswer || stream != nil }

    init(responder: GatewayResponder, role: GatewayServer.Role = .api, limits: GatewayServerLimits, headDeadline: RequestHeadDeadline,
         registry: GatewayConnectionRegistry? = nil, counters: GatewayServerCounters? = nil) {
        self.responder = responder
        self.role = role
        self.limits = limits
        self.headDeadline = headDeadline
        self.registry = registry
        self.counters = counters
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        encoderContext = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        channel = context.channel
        peerIP = context.channel.remoteAddress?.ipAddress ?? ""
        registry?.add(self)
        armIdleTimer(at: lastActive + limits.idleTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        encoderContext = nil
        idleTimer?.cancel()
        idleTimer = nil
        registry?.remove(self)
    }

    /// When the timer fires: the client sent nothing and drained none of its answers for the
    /// idle timeout and nothing of it is being answered (a node slow to answer, a realtime
    /// stream) closes the connection; else
    /// the check comes again when the timeout would next be over.
    private func armIdleTimer(at deadline: NIODeadline) {
        guard let loop = context?.eventLoop else { return }
        idleTimer = loop.scheduleTask(deadline: deadline) { [self] in
            idleTimer = nil
            guard let context else { return }
            let now = NIODeadline.now()
            let due = lastActive + limits.idleTimeout
            if due > now { return armIdleTimer(at: due) }
            if answerPending { return armIdleTimer(at: now + limits.idleTimeout) }
            counters?.closed(.idle)
            context.close(promise: nil)
        }
    }

    /// Shutdown began: a connection streaming an answer closes (the stream would not end).
    func endStreamForShutdown() {
        guard let channel else { return }
        channel.eventLoop.execute { [self] in
            if stream != nil { channel.close(promise: nil) }
        }
    }

    /// The drain time is over: the connection closes whatever it is doing.
    func closeForShutdown() {
        channel?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if mustHold(context) || !held.isEmpty { return held.append(.part(part)) }
        receive(part, context: context)
    }

    /// What comes next waits: an answer is being written or awaited (HTTP/1.1 pipelining), or
    /// the client does not read its answers (the channel holds more than its high-water mark
    /// unsent), so a client pipelining requests without reading is read no further and its
    /// answers do not pile up unsent.
    private func mustHold(_ context: ChannelHandlerContext) -> Bool {
        answerPending || !context.channel.isWritable
    }

    /// Holds the channel's reads while what comes next must wait.
    func read(context: ChannelHandlerContext) {
        if mustHold(context) { held.readPending = true } else { context.read() }
    }

    /// Graceful shutdown: an idle connection closes; a busy one answers what it is reading or
    /// answering with `Connection: close` and then closes; what it holds is dropped.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        quiescing = true
        held.removeAll()
        if !answerPending, head == nil { context.close(promise: nil) }
    }

    /// An answer ended on a connection kept open: what was held meanwhile goes on.
    private func answerEnded(_ context: ChannelHandlerContext) {
        headDeadline.answerEnded()
        resumeHeld(context)
    }

    /// The requests held are answered in turn (until one must wait again), then the read held
    /// meanwhile is done.
    private func resumeHeld(_ context: ChannelHandlerContext) {
        guard !delivering else { return }
        delivering = true
        defer { delivering = false }
        while !mustHold(context), !closing, let event = held.next() {
            switch event {
            case .part(let part): receive(part, context: context)
            case .malformed: refuseMalformed(context)
            }
        }
        if held.isEmpty, !mustHold(context), !closing, held.readPending {
            held.readPending = false
            context.read()
        }
    }

    private func receive(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        // After a close began nothing more is read; once shutdown began no new request is.
        if closing || refusedMalformed || (quiescing && head == nil) { return }
        switch part {
        case .head(let head):
            headDeadline.headDecoded()
            self.head = head
            body.clear()
            tooLarge = false
            // A subscription request is parsed by the gateway (to find the stream's node): its
            // body is bounded far below other bodies, which are passed on unread.
            isSubscription = head.method.isPOST && RequestRoute.isRealtimePath(GatewayRequest.path(of: head.uri))
            bodyLimit = isSubscription ? limits.maxRealtimeBodyBytes : limits.maxBodyBytes
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }), length > bodyLimit {
                return rejectTooLarge(head)
            }
            // The gateway reads the whole body before forwarding: a client waiting for leave to
            // send it gets it at once (the node never sees the Expect header). Not to HTTP/1.0.
            if head.version.minor >= 1, head.headers.contains(where: { GatewayRequest.sameName($0.name, "expect") && $0.value.lowercased() == "100-continue" }) {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            guard !tooLarge, let head else { return }
            if body.readableBytes + chunk.readableBytes > bodyLimit {
                rejectTooLarge(head)
            } else {
                body.writeBuffer(&chunk)
            }
        case .end:
            headDeadline.requestDecoded()
            guard let head, !tooLarge else { return }
            self.head = nil
            let request = GatewayRequest(head: head, body: body, peerIP: peerIP, eventLoop: context.eventLoop)
            body = ByteBuffer()
            switch role == .admin ? .later(responder.respondAdmin(to: request)) : responder.answer(to: request, token: &token) {
            case .now(let response):
                write(response, for: head, keepAlive: head.isKeepAlive)
            case .later(let answer):
                awaitingAnswer = true
                answer.whenComplete { [self] result in
                    awaitingAnswer = false
                    switch result {
                    case .success(let response): write(response, for: head, keepAlive: head.isKeepAlive)
                    case .failure(let error): write(GatewayResponder.unavailable(error), for: head, keepAlive: head.isKeepAlive)
                    }
                }
            case .proxied(let call):
                awaitingAnswer = true
                answering = head
                call.start(answeringTo: self)
            }
        }
    }

    /// A proxied request's answer, on the connection's loop.
    func answered(_ response: GatewayResponse) {
        guard let head = answering else { return }
        answering = nil
        awaitingAnswer = false
        write(response, for: head, keepAlive: head.isKeepAlive)
    }

    /// A body over the limit (declared or read): 413 at once, and the connection closes without
    /// reading the rest.
    private func rejectTooLarge(_ head: HTTPRequestHead) {
        tooLarge = true
        body = ByteBuffer()
        if isSubscription { counters?.realtimeBodyRefused.increment() } else { counters?.bodyRefused.increment() }
        write(GatewayResponse(PBError.tooLarge), for: head, keepAlive: false)
    }

    /// Writes `response` to the client; closes the connection after it unless `keepAlive`.
    private func write(_ response: GatewayResponse, for request: HTTPRequestHead, keepAlive: Bool) {
        guard let context, context.channel.isActive, !refusedMalformed, !closing else {
            if case .stream(let stream) = response.body { stream.cancel() }
            return
        }
        var keepAlive = keepAlive && !quiescing
        var headers = response.headers
        // HTTP/1.0 has no chunked encoding: a streamed body ends with the connection.
        if case .stream = response.body, request.version.minor == 0 { keepAlive = false }
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if request.version.minor == 0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        // The encoder frames nothing (``GatewayServer``): every answer's framing is set here.
        switch response.body {
        case .buffer where !response.status.mayHaveResponseBody:
            // 1xx, 204 and 304: no body, and no length or transfer coding.
            headers.remove(name: "content-length")
            headers.remove(name: "transfer-encoding")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))), promise: nil)
            end(context, keepAlive: keepAlive)
        case .buffer(let buffer):
            // A node's whole answer carries its body's length already, and so does a hit; the
            // gateway's own answers carry none: added, and replaced only when it differs (so
            // the headers are not copied to be sent). An answer to HEAD keeps the length a GET
            // would have. A prepared answer (a cache hit's) has its length.
            if response.encodedHead == nil {
                let length = String(buffer.readableBytes)
                if let declared = headers.first(name: "content-length") {
                    if !request.method.isHEAD, declared != length { headers.replaceOrAdd(name: "Content-Length", value: length) }
                } else {
                    headers.add(name: "Content-Length", value: length)
                }
            }
            let withBody = buffer.readableBytes > 0 && !request.method.isHEAD
            // To HTTP/1.1 kept alive: the head's bytes (prepared, or encoded here) and the body
            // written past NIO's encoder, which frames nothing for them anyway.
            if keepAlive, request.version == .http1_1, let encoderContext {
                let head = response.encodedHead ?? EncodedHead(status: response.status, headers: headers)
                encoderContext.write(NIOAny(IOData.byteBuffer(head.bytes)), promise: nil)
                if withBody { encoderContext.write(NIOAny(IOData.byteBuffer(buffer)), promise: nil) }
                encoderContext.flush()
                return answerEnded(context)
            }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))), promise: nil)
            if withBody { context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
            end(context, keepAlive: keepAlive)
        case .stream(let stream) where request.method.isHEAD:
            // No body to HEAD: the head as the node gave it.
            stream.cancel()
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers))), promise: nil)
            end(context, keepAlive: keepAlive)
        case .stream(let stream):
            self.stream = stream
            // Chunked to HTTP/1.1 (a node's streamed answer comes without a length); to
            // HTTP/1.0 the body ends with the connection.
            if request.version.minor >= 1 { headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked") }
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

    /// Ends the answer; closes the connection after it unless `keepAlive` (and shutdown did
    /// not begin meanwhile, as it may while a stream runs).
    private func end(_ context: ChannelHandlerContext, keepAlive: Bool) {
        if keepAlive, !quiescing {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            answerEnded(context)
        } else {
            headDeadline.answerEnded()
            closing = true
            held.removeAll()
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The client read its answers down to the low-water mark (which counts as activity for the
    /// idle timeout): a stream goes on, and so do the requests held. While it has not, a head
    /// held meanwhile is not cut off by its deadline; a client that reads nothing is closed at
    /// the idle timeout.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        let writable = context.channel.isWritable
        headDeadline.clientBehind = !writable
        if writable {
            lastDrained = .now()
            stream?.resume()
            resumeHeld(context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// A malformed request (NIO's decoder failed: a bad request line, header, chunk or length,
    /// a head too large) is answered PocketBase's 400 with `Connection: close`, counted, and
    /// nothing is written after it, once the answers before it ended (it is held meanwhile); any
    /// other error closes the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else { return context.close(promise: nil) }
        if answerPending || !held.isEmpty { return held.append(.malformed) }
        refuseMalformed(context)
    }

    private func refuseMalformed(_ context: ChannelHandlerContext) {
        // A close is already on its way, after what was written (closing it now would cut that).
        guard !refusedMalformed, !closing else { return }
        refusedMalformed = true
        held.removeAll()
        counters?.closed(.malformed)
        HTTPProtocolErrorHandler.writeBadRequest(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        stream?.cancel()
        stream = nil
        held.removeAll()
        registry?.remove(self)
        context.fireChannelInactive()
    }
}
