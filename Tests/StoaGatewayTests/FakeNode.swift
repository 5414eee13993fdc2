import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A node stand-in on a loopback port for the proxy's tests, answering by path (a leading
/// `/api/test` is ignored, so the gateway's public port, which forwards `/api/...` only, reaches
/// the same answers): `/close` closes the connection without answering, `/second-closes` does so only when its
/// connection answered a request before (a kept connection the node closes as a request comes),
/// `/silent` never answers, `/delay?ms=N` answers after N ms, `/big?bytes=N`
/// answers N bytes, `/stream?chunks=N` answers N chunks 20 ms apart, `/no-content?code=N` answers
/// status N (204, 304) without a body, `/head` answers with a
/// Content-Length only, `/bad-header` and `/bare-cr` answer a header value holding a control
/// character or a bare CR (raw bytes, past NIO's validator), anything else echoes the request as JSON
/// (`{"method","uri","headers":{name:[values]},"body","connection"}`).
final class FakeNode: Sendable {
    let channel: any Channel
    private let counters: CounterBox

    var url: String { "http://127.0.0.1:\(channel.localAddress!.port!)" }
    /// Connections accepted so far.
    var accepted: Int { counters.connections.load(ordering: .relaxed) }
    /// Requests read so far.
    var served: Int { counters.requests.load(ordering: .relaxed) }

    init() async throws {
        let box = CounterBox()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                box.connected(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FakeNodeHandler(connection: box.connectionNumber(), onRequest: box.requested))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        counters = box
    }

    /// Stops listening and closes the connections it accepted.
    func stop() async throws {
        try await channel.close()
        for child in counters.channels.withLock({ $0 }) { try? await child.close() }
    }
}

/// Counts a fake node's connections and requests.
final class CounterBox: Sendable {
    let connections = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let channels = Mutex<[any Channel]>([])
    func connected(_ channel: any Channel) {
        connections.add(1, ordering: .relaxed)
        channels.withLock { $0.append(channel) }
    }
    func connectionNumber() -> Int { connections.load(ordering: .relaxed) }
    @Sendable func requested() { requests.add(1, ordering: .relaxed) }
}

private final class FakeNodeHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let connection: Int
    let onRequest: @Sendable () -> Void
    var head: HTTPRequestHead?
    var body = ByteBuffer()
    var answered = 0

    init(connection: Int, onRequest: @escaping @Sendable () -> Void) {
        self.connection = connection
        self.onRequest = onRequest
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            onRequest()
            var path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
            if path.hasPrefix("/api/test/") { path.removeFirst("/api/test".count) }
            let number = head.uri.split(separator: "=").last.flatMap { Int($0) } ?? 3
            switch path {
            case "/close":
                context.close(promise: nil)
            case "/second-closes" where answered > 0:
                context.close(promise: nil)
            case "/silent":
                break
            case "/delay":
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(Int64(number))) {
                    let (handler, context) = bound.value
                    handler.respond(context, body: ByteBuffer(string: "{}"))
                }
            case "/big":
                respond(context, body: ByteBuffer(repeating: UInt8(ascii: "x"), count: number))
            case "/bad-header", "/bare-cr":
                // Raw bytes past NIO's encoder and its validator: a node that answers a header
                // value with a control character, or a bare CR in a value.
                let value = path == "/bad-header" ? "a\u{01}b" : "a\rInjected: yes"
                let raw = "HTTP/1.1 200 OK\r\nX-Bad: \(value)\r\nContent-Length: 2\r\n\r\n{}"
                if let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self) {
                    encoder.writeAndFlush(NIOAny(ByteBuffer(string: raw)), promise: nil)
                }
            case "/no-content":
                // A bodiless status (204, 304), sent as NIO's encoder frames it (no length).
                let status = HTTPResponseStatus(statusCode: number)
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: ["X-Node": "fake"]))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case "/head":
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "1234", "Content-Type": "application/json"]))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case "/stream", "/api/realtime":
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Type": "text/event-stream"]))), promise: nil)
                let loop = context.eventLoop
                let bound = NIOLoopBound((self, context), eventLoop: loop)
                for index in 0..<number {
                    loop.scheduleTask(in: .milliseconds(Int64(20 * (index + 1)))) {
                        let (handler, context) = bound.value
                        context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "data: \(index)\n\n")))), promise: nil)
                        if index == number - 1 { context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil) }
                    }
                }
            default:
                var headers: [String: [String]] = [:]
                for (name, value) in head.headers { headers[name.lowercased(), default: []].append(value) }
                let echo: [String: Any] = ["method": head.method.rawValue, "uri": head.uri, "headers": headers, "body": String(buffer: body), "connection": connection]
                respond(context, body: ByteBuffer(data: (try? JSONSerialization.data(withJSONObject: echo)) ?? Data("{}".utf8)))
            }
            self.head = nil
            answered += 1
        }
    }

    private func respond(_ context: ChannelHandlerContext, body: ByteBuffer) {
        let headers: HTTPHeaders = ["Content-Type": "application/json", "Content-Length": String(body.readableBytes), "X-Node": "fake"]
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// A raw HTTP/1.1 client for the server's tests: sends bytes as they are and collects what the
/// server sends until it closes the connection (or `timeout`, then closes itself). Every exchange
/// of the tests ends with the server's close, so the timeout is reached only when one does not:
/// it is long, because when every suite starts at once on two cores the event loops can be held
/// for seconds, and the close read one turn of the loop after the last bytes (a CI run saw a whole
/// answer arrive and the 5 s timer fire before its close was read).
enum RawClient {
    static func exchange(port: Int, _ text: String, timeout: TimeAmount = .seconds(30)) async throws -> (text: String, closedByServer: Bool) {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: text))
        let timer = channel.eventLoop.scheduleTask(in: timeout) { collector.timedOut.store(true, ordering: .relaxed); channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        timer.cancel()
        return (collector.text, !collector.timedOut.load(ordering: .relaxed))
    }

    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        private let received = Mutex(ByteBuffer())
        let timedOut = Atomic<Bool>(false)
        var text: String { received.withLock { String(buffer: $0) } }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var chunk = unwrapInboundIn(data)
            received.withLock { _ = $0.writeBuffer(&chunk) }
        }
    }
}
