import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing
@testable import StoaGateway
import StoaNode

@Suite("GatewayServer: the gateway's HTTP/1.1 server in front of a node")
struct GatewayServerTests {
    /// Runs a gateway server (no limiter, no tokens, no cache unless given) in front of `node`
    /// for `body` (given the port and a function that starts a graceful shutdown), then shuts it
    /// down gracefully and waits until it stopped.
    static func withServer(node: FakeNode, limits: GatewayServerLimits = GatewayServerLimits(maxBodyBytes: 1 << 20), role: GatewayServer.Role = .api,
                           cache: GatewayCache? = nil, drainTimeout: TimeAmount = .seconds(2),
                           _ body: (Int, @Sendable () async -> Void) async throws -> Void) async throws {
        let pool = GatewayProxyTests.pool([("n1", node.url)])
        let proxy = GatewayProxy(pool: pool, connections: UpstreamConnections(), logger: Logger(label: "test"))
        let responder = GatewayResponder(
            proxy: proxy, tokens: nil, limiter: nil, cache: cache,
            status: GatewayStatusSource(pool: pool, membership: nil, limiter: nil, cache: cache, startedAt: 0), registry: PrometheusCollectorRegistry()
        )
        let port = Mutex<Int?>(nil)
        let server = GatewayServer(host: "127.0.0.1", port: 0, tls: nil, responder: responder, role: role, limits: limits,
                                   drainTimeout: drainTimeout, logger: Logger(label: "test")) { bound in port.withLock { $0 = bound } }
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var bound: Int?
            for _ in 0..<500 where bound == nil {
                bound = port.withLock { $0 }
                if bound == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            try await body(try #require(bound), { await group.triggerGracefulShutdown() })
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("a node's answer whose header holds a control character or a bare CR is refused by the gateway's parser, never passed on (the server does not validate headers again)")
    func malformedNodeHeaders() async throws {
        let node = try await FakeNode()
        for (index, path) in ["bad-header", "bare-cr"].enumerated() {
            // A gateway of its own each: the first answer ejects the node.
            try await Self.withServer(node: node) { port, _ in
                let (text, _) = try await RawClient.exchange(port: port, "GET /api/test/\(path) HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
                #expect(node.served == index + 1, "\(path) reached the node")
                #expect(text.hasPrefix("HTTP/1.1 50"), "\(path): \(text)")
                #expect(!text.contains("X-Bad") && !text.contains("Injected"), "\(path): \(text)")
            }
        }
        try await node.stop()
    }

    @Test("keep-alive and pipelined requests are answered in order on one connection, forwarded with X-Forwarded-*")
    func pipelined() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node) { port, _ in
            let (text, closed) = try await RawClient.exchange(port: port, """
            GET /api/test/first HTTP/1.1\r\nHost: gw.example\r\n\r\nGET /api/test/second HTTP/1.1\r\nHost: gw.example\r\nX-Forwarded-For: 10.0.0.9\r\nConnection: close\r\n\r\n
            """)
            #expect(closed, "Connection: close ends the connection after the answer")
            let first = try #require(text.range(of: #""uri":"\/api\/test\/first""#) ?? text.range(of: #""uri":"/api/test/first""#))
            let second = try #require(text.range(of: #""uri":"\/api\/test\/second""#) ?? text.range(of: #""uri":"/api/test/second""#))
            #expect(first.lowerBound < second.lowerBound)
            #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
            #expect(text.contains("\"x-forwarded-host\":[\"gw.example\"]"))
            #expect(text.contains("\"x-forwarded-for\":[\"10.0.0.9, 127.0.0.1\"]"))
            #expect(text.contains("\"x-forwarded-proto\":[\"http\"]"))
        }
        #expect(node.served == 2)
        try await node.stop()
    }

    /// The answers in `text`, in order: each one's head (status line and headers, without the
    /// blank line) and body, read by its `Content-Length` (none: no body).
    static func answers(_ text: String) -> [(head: String, body: String)] {
        var rest = Substring(text)
        var answers: [(head: String, body: String)] = []
        while let end = rest.range(of: "\r\n\r\n") {
            let head = String(rest[..<end.lowerBound])
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            let body = rest[end.upperBound...].utf8.prefix(length)
            answers.append((head, String(decoding: body, as: UTF8.self)))
            rest = rest[end.upperBound...].dropFirst(length)
        }
        return answers
    }

    @Test("a cache hit on a connection kept alive is written as its prepared bytes, the same NIO's encoder writes for it, in order with proxied answers; to a closing connection it goes through the encoder with Connection: close")
    func preparedHitsPipelined() async throws {
        let node = try await FakeNode()
        let cache = GatewayCache(byteBudget: 1 << 20, ttlNanos: 60_000_000_000, staleForNanos: 600_000_000_000)
        try await Self.withServer(node: node, cache: cache) { port, _ in
            let read = "GET /api/collections/quotes/records/r1 HTTP/1.1\r\nHost: gw\r\n\r\n"
            // A miss (proxied, stored), two hits held until it is answered, a proxied request
            // between hits, and a hit on a connection that closes after it.
            let (text, closed) = try await RawClient.exchange(port: port, read + read + "GET /api/test/between HTTP/1.1\r\nHost: gw\r\n\r\n" + read
                + "GET /api/collections/quotes/records/r1 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            #expect(closed)
            let answers = Self.answers(text)
            try #require(answers.count == 5, "\(text)")
            #expect(answers.map { $0.head.contains("X-Cache-Status: MISS") } == [true, false, false, false, false])
            #expect(answers.map { $0.head.contains("X-Cache-Status: HIT") } == [false, true, false, true, true])
            #expect(answers[2].body.contains("between"))
            for hit in [1, 3, 4] {
                #expect(answers[hit].head.hasPrefix("HTTP/1.1 200 OK\r\n"))
                #expect(answers[hit].body == answers[0].body && answers[0].body.contains("records\\/r1"))
            }
            // The prepared bytes (hits 1 and 3) are the head NIO's encoder wrote for the last
            // hit, without its Connection: close (Age is 0 for all three, within a second).
            let encoded = answers[4].head.replacingOccurrences(of: "\r\nConnection: close", with: "")
            #expect(answers[4].head.contains("Connection: close"))
            if answers[4].head.contains("Age: 0") && answers[1].head.contains("Age: 0") {
                #expect(answers[1].head == encoded && answers[3].head == encoded)
            }
        }
        #expect(node.served == 2, "the hits never reached the node")
        try await node.stop()
    }

    @Test("many pipelined requests are answered in order; a malformed one after them is answered 400 after them all, then the connection closes")
    func pipelinedThenMalformed() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node) { port, _ in
            let requests = (0..<40).map { "GET /api/test/n\($0) HTTP/1.1\r\nHost: gw\r\n\r\n" }.joined()
            let (text, closed) = try await RawClient.exchange(port: port, requests + "GET /bad path HTTP/1.1\r\n\r\n", timeout: .seconds(20))
            #expect(closed)
            let answers = Self.answers(text)
            try #require(answers.count == 41, "\(answers.count) answers: \(text.suffix(400))")
            for (index, answer) in answers.prefix(40).enumerated() {
                #expect(answer.head.hasPrefix("HTTP/1.1 200") && answer.body.contains("n\(index)\""), "answer \(index)")
            }
            #expect(answers[40].head.hasPrefix("HTTP/1.1 400") && answers[40].body.contains("\"status\":400"))
        }
        #expect(node.served == 40)
        try await node.stop()
    }

    /// Counts the reads the handlers after it ask for.
    final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = IOData
        var count = 0
        func read(context: ChannelHandlerContext) {
            count += 1
            context.read()
        }
    }

    /// A gateway connection handler on an embedded channel, after NIO's response encoder (and
    /// `before` those, nearer the socket), with a responder that needs no node for the answers
    /// the tests ask: a 404 (not the public API), a 400 (absolute-form target).
    static func embedded(before: [any ChannelHandler] = [], decoder: Bool = false, headDeadline: RequestHeadDeadline? = nil) throws -> EmbeddedChannel {
        let pool = GatewayProxyTests.pool([("n1", "http://127.0.0.1:1")])
        let responder = GatewayResponder(
            proxy: GatewayProxy(pool: pool, connections: UpstreamConnections(), logger: Logger(label: "test")), tokens: nil, limiter: nil, cache: nil,
            status: GatewayStatusSource(pool: pool, membership: nil, limiter: nil, cache: nil, startedAt: 0), registry: PrometheusCollectorRegistry()
        )
        var encoder = HTTPResponseEncoder.Configuration()
        encoder.automaticallySetFramingHeaders = false
        let deadline = headDeadline ?? RequestHeadDeadline(timeout: .seconds(10)) {}
        let channel = EmbeddedChannel()
        let pipeline = channel.pipeline.syncOperations
        for handler in before { try pipeline.addHandler(handler) }
        if headDeadline != nil { try pipeline.addHandler(deadline.makeByteWatcher()) }
        try pipeline.addHandler(HTTPResponseEncoder(configuration: encoder))
        if decoder { try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes))) }
        try pipeline.addHandler(GatewayConnectionHandler(responder: responder, limits: GatewayServerLimits(), headDeadline: deadline))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// The status codes of the answers written to `channel` since last asked, in order.
    static func written(_ channel: EmbeddedChannel) throws -> [String] {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
        }
        return text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
    }

    @Test("a client that does not read its answers is read no further: while the channel holds more than its high-water mark unsent, requests wait and so do reads; once it drains they are answered in order")
    func unreadAnswersHoldRequests() throws {
        let reads = ReadCounter()
        let channel = try Self.embedded(before: [reads])
        func request(_ target: String) throws {
            try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: target)))
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
        }
        try request("/one")
        #expect(try Self.written(channel) == ["404"])
        channel.isWritable = false
        try request("/two")
        try request("http://gw/api/three")
        let readsBefore = reads.count
        channel.read()
        #expect(try Self.written(channel).isEmpty, "nothing answered while the client does not read")
        #expect(reads.count == readsBefore, "the read waits")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(try Self.written(channel) == ["404", "400"], "answered in order once it drained")
        #expect(reads.count == readsBefore + 1, "the read held is done")
        try request("/four")
        #expect(try Self.written(channel) == ["404"])
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("a head held while the client does not read its answers is not cut off by the head deadline; answered once the client drains")
    func heldHeadOutlivesItsDeadline() throws {
        let deadline = RequestHeadDeadline(timeout: .seconds(10)) {}
        let channel = try Self.embedded(decoder: true, headDeadline: deadline)
        try channel.writeInbound(ByteBuffer(string: "GET /one HTTP/1.1\r\nHost: gw\r\n\r\n"))
        #expect(try Self.written(channel) == ["404"])
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        try channel.writeInbound(ByteBuffer(string: "GET /two HTTP/1.1\r\nHost: gw\r\n\r\n"))
        // The head's deadline (10 s from its first byte) passes while it is held.
        channel.embeddedEventLoop.advanceTime(to: .now() + .seconds(25))
        #expect(channel.isActive, "not closed by the held head's deadline")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(try Self.written(channel) == ["404"])
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    /// Holds what is written through it until released (a socket that has not taken it yet).
    final class WriteGate: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = IOData
        private var context: ChannelHandlerContext?
        private var held: [(NIOAny, EventLoopPromise<Void>?)] = []
        private var isOpen = false
        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if isOpen { context.write(data, promise: promise) } else { held.append((data, promise)) }
        }
        func flush(context: ChannelHandlerContext) { if isOpen { context.flush() } }
        func release() {
            guard let context else { return }
            isOpen = true
            for (data, promise) in held { context.write(data, promise: promise) }
            held = []
            context.flush()
        }
    }

    @Test("a parse error after an answer that closes the connection does not cut that answer: the close comes after it")
    func malformedAfterClosingAnswer() throws {
        let gate = WriteGate()
        let channel = try Self.embedded(before: [gate])
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/one")
        head.headers.add(name: "Connection", value: "close")
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        channel.pipeline.fireErrorCaught(HTTPParserError.invalidHeaderToken)
        #expect(channel.isActive, "the answer is still being written")
        gate.release()
        #expect(try Self.written(channel) == ["404"], "the answer went out whole")
        #expect(!channel.isActive, "then the connection closed")
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("graceful shutdown closes an idle kept-alive connection at once; a request waiting for its node is answered with Connection: close, then its connection closes")
    func shutdownLetsRequestsFinish() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node, drainTimeout: .seconds(20)) { port, shutdown in
            let idle = try await RawConnection.open(port: port)
            try await idle.send("GET /api/test/one HTTP/1.1\r\nHost: gw\r\n\r\n")
            #expect(await idle.waitForText("X-Node: fake", timeout: .seconds(10)), "answered: \(idle.text)")
            let busy = try await RawConnection.open(port: port)
            try await busy.send("GET /api/test/delay?ms=5000 HTTP/1.1\r\nHost: gw\r\n\r\n")
            for _ in 0..<500 where node.served < 2 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(node.served == 2, "the slow request reached the node")
            await shutdown()
            #expect(await idle.waitForClose(timeout: .seconds(5)), "the idle connection closed")
            #expect(!busy.text.contains("HTTP/1.1"), "not answered yet when the idle one closed")
            #expect(await busy.waitForClose(timeout: .seconds(15)), "the busy connection closed after its answer")
            #expect(busy.text.hasPrefix("HTTP/1.1 200") && busy.text.contains("Connection: close"), "\(busy.text)")
        }
        try await node.stop()
    }

    @Test("a client that sends Expect: 100-continue gets 100 Continue at once; the node gets the body without the Expect header")
    func expectContinue() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node) { port, _ in
            let (text, _) = try await RawClient.exchange(port: port, "POST /api/x HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            #expect(text.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"))
            #expect(text.contains("\"body\":\"{}\""))
            #expect(!text.contains("\"expect\""))
        }
        try await node.stop()
    }

    @Test("a body over the limit is a 413 in PocketBase's envelope, the connection closes, nothing is forwarded")
    func tooLarge() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node, limits: GatewayServerLimits(maxBodyBytes: 100)) { port, _ in
            let body = String(repeating: "x", count: 500)
            let (text, closed) = try await RawClient.exchange(port: port, "POST /api/collections/quotes/records HTTP/1.1\r\nHost: gw\r\nContent-Length: 500\r\n\r\n\(body)")
            #expect(text.hasPrefix("HTTP/1.1 413"))
            #expect(text.contains("\"status\":413"))
            #expect(text.lowercased().contains("connection: close"))
            #expect(closed)
            // A declared length over the limit is refused at once, without waiting for the body.
            let (early, closedEarly) = try await RawClient.exchange(
                port: port, "POST /api/collections/quotes/records HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 100000000\r\n\r\n"
            )
            #expect(early.hasPrefix("HTTP/1.1 413"), "no 100 Continue for a body that will be refused")
            #expect(closedEarly)
        }
        #expect(node.served == 0)
        try await node.stop()
    }

    @Test("HEAD keeps the node's Content-Length and sends no body; a streamed answer goes out chunked as it arrives")
    func headAndStream() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node) { port, _ in
            let (head, _) = try await RawClient.exchange(port: port, "HEAD /api/test/head HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 200"))
            #expect(head.lowercased().contains("content-length: 1234"))
            #expect(head.hasSuffix("\r\n\r\n"), "no body after the head")

            let (stream, closed) = try await RawClient.exchange(port: port, "GET /api/realtime HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            #expect(closed)
            #expect(stream.lowercased().contains("transfer-encoding: chunked"))
            for index in 0..<3 { #expect(stream.contains("data: \(index)\n\n")) }
            #expect(stream.hasSuffix("0\r\n\r\n"), "the chunked body ends")
        }
        try await node.stop()
    }

    @Test("a header value with a control character is refused by the gateway's parser (PocketBase's 400, the connection closes), never forwarded: forwarded headers are not checked again")
    func controlCharactersRefused() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node) { port, _ in
            for value in ["a\u{01}b", "a\u{7F}b", "a\u{00}b", "a\u{0B}b", "a\rb"] {
                let (text, closed) = try await RawClient.exchange(port: port, "GET /api/test/one HTTP/1.1\r\nHost: gw\r\nX-Note: \(value)\r\n\r\n")
                #expect(text.hasPrefix("HTTP/1.1 400"), "\(value.unicodeScalars.map(\.value)): \(text)")
                #expect(text.contains("\"status\":400"))
                #expect(closed)
            }
        }
        #expect(node.served == 0)
        try await node.stop()
    }

    @Test("a 204 or 304 goes out without a length or a body, and the connection carries the next request")
    func bodilessStatuses() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node) { port, _ in
            let (text, closed) = try await RawClient.exchange(port: port, """
                GET /api/test/no-content?code=204 HTTP/1.1\r\nHost: gw\r\n\r\n\
                GET /api/test/no-content?code=304 HTTP/1.1\r\nHost: gw\r\n\r\n\
                GET /api/test/last HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n
                """)
            #expect(closed)
            let answers = text.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(answers.map { $0.prefix(3) } == ["204", "304", "200"])
            for bodiless in answers.prefix(2) {
                #expect(!bodiless.lowercased().contains("content-length"), "\(bodiless)")
                #expect(!bodiless.lowercased().contains("transfer-encoding"), "\(bodiless)")
                #expect(bodiless.hasSuffix("\r\n\r\n"), "nothing after the head: \(bodiless)")
            }
            #expect(answers.last?.contains("last") == true, "the echo of the third request")
        }
        try await node.stop()
    }

    @Test("HTTP/1.0: keep-alive when asked (and said so), a close otherwise; a streamed answer ends with the connection")
    func http10() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node) { port, _ in
            let (text, closed) = try await RawClient.exchange(port: port, "GET /api/test/one HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /api/test/two HTTP/1.0\r\n\r\n")
            #expect(closed)
            let answers = text.components(separatedBy: "HTTP/1.0 200 OK").dropFirst()
            #expect(answers.count == 2)
            #expect(answers.first?.lowercased().contains("connection: keep-alive") == true)
            #expect(answers.last?.lowercased().contains("connection: close") == true)
            let (stream, streamClosed) = try await RawClient.exchange(port: port, "GET /api/realtime HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(streamClosed)
            #expect(!stream.lowercased().contains("transfer-encoding"))
            #expect(stream.hasSuffix("data: 2\n\n"))
        }
        try await node.stop()
    }

    @Test("graceful shutdown ends a streamed answer at once and stops within the drain time")
    func shutdownEndsStreams() async throws {
        let node = try await FakeNode()
        let clock = ContinuousClock()
        var stoppedIn: Duration = .zero
        try await Self.withServer(node: node, drainTimeout: .seconds(20)) { port, shutdown in
            // Shut down once the stream is running (a fixed sleep raced the first chunk on a
            // loaded machine).
            let connection = try await RawConnection.open(port: port)
            try await connection.send("GET /api/realtime?chunks=5000 HTTP/1.1\r\nHost: gw\r\n\r\n")
            #expect(await connection.waitForText("data: 0", timeout: .seconds(10)), "the stream runs: \(connection.text.prefix(200))")
            let started = clock.now
            await shutdown()
            let closed = await connection.waitForClose(timeout: .seconds(15))
            stoppedIn = clock.now - started
            #expect(closed, "the server closed the stream")
            #expect(!connection.text.contains("data: 4999"), "ended at once, not run to its end")
        }
        #expect(stoppedIn < .seconds(5))
        try await node.stop()
    }

    @Test("the admin listener serves the gateway's own pages without a node, and nothing else")
    func adminListener() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node, role: .admin) { port, _ in
            let (status, _) = try await RawClient.exchange(port: port, "GET /api/gateway HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            #expect(status.hasPrefix("HTTP/1.1 200"))
            #expect(status.contains("\"nodes\":[{"))
            let (metrics, _) = try await RawClient.exchange(port: port, "GET /metrics HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            #expect(metrics.hasPrefix("HTTP/1.1 200"))
            #expect(metrics.contains("text/plain"))
            let (page, _) = try await RawClient.exchange(port: port, "GET /_/ HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            #expect(page.hasPrefix("HTTP/1.1 200") && page.contains("/api/gateway"))
            for target in ["/api/health", "/api/collections/quotes/records", "/api/cluster"] {
                let (other, _) = try await RawClient.exchange(port: port, "GET \(target) HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
                #expect(other.hasPrefix("HTTP/1.1 404") && other.contains("\"status\":404"), "\(target): \(other)")
            }
        }
        #expect(node.served == 0, "the admin listener proxies nothing")
        try await node.stop()
    }

    @Test("the public port answers 404 for the nodes' /api/cluster (however spelled), the gateway's own pages (to all but superusers) and non-API paths; 400 for an absolute-form target")
    func publicPortServesThePublicAPIOnly() async throws {
        let node = try await FakeNode()
        try await Self.withServer(node: node) { port, _ in
            for target in ["/api/cluster", "/api/cluster?digest=1", "//api//cluster/?digest=1", "/api/cluster/x", "/api/gateway", "/metrics", "/", "/x", "/_/a/b"] {
                let (text, _) = try await RawClient.exchange(port: port, "GET \(target) HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
                #expect(text.hasPrefix("HTTP/1.1 404"), "\(target): \(text)")
                #expect(text.contains(#"{"data":{},"message":"The requested resource wasn't found.","status":404}"#), "\(target): \(text)")
            }
            let (absolute, _) = try await RawClient.exchange(port: port, "GET http://gw/api/cluster HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            #expect(absolute.hasPrefix("HTTP/1.1 400") && absolute.contains("\"status\":400"))
            #expect(node.served == 0, "nothing internal reached the node")
            let (health, _) = try await RawClient.exchange(port: port, "GET /api/health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
            #expect(health.hasPrefix("HTTP/1.1 200"))
        }
        #expect(node.served == 1)
        try await node.stop()
    }
}
