import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing
@testable import StoaGateway

@Suite("GatewayProxy: forwarding over keep-alive connections, what counts against a node, retries")
struct GatewayProxyTests {
    /// A pool routing to the given nodes (name → URL), all admitted.
    static func pool(_ nodes: [(String, String)]) -> NodePool {
        let pool = NodePool()
        for (name, url) in nodes {
            pool.update(name: name, url: url, membership: .alive)
            pool.healthChecked(name: name, url: url, healthy: true, now: 0)
        }
        return pool
    }

    static func proxy(_ pool: NodePool, timeout: TimeAmount = .seconds(5), maxResponseBytes: Int = 1 << 20, maxConnections: Int = 256) -> GatewayProxy {
        GatewayProxy(pool: pool, connections: UpstreamConnections(maxConnectionsPerNode: maxConnections), timeout: timeout,
                     maxResponseBytes: maxResponseBytes, logger: Logger(label: "test"))
    }

    static func request(_ method: HTTPMethod = .GET, _ target: String, headers: HTTPHeaders = [:], body: String? = nil, idempotent: Bool = true, streaming: Bool = false) -> ForwardedRequest {
        ForwardedRequest(method: method, target: target, headers: headers, body: body.map { ByteBuffer(string: $0) }, idempotent: idempotent, streaming: streaming)
    }

    static func echo(_ response: ProxiedResponse) throws -> [String: Any] {
        guard case .buffer(let body) = response.body else { throw CancellationError() }
        return try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any])
    }

    @Test("a request goes out with its method, target, headers, body and Host; the answer comes back; the connection is kept and reused")
    func forwardsOverKeptConnections() async throws {
        let node = try await FakeNode()
        let proxy = Self.proxy(Self.pool([("n1", node.url)]))
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let get = try await proxy.forward(Self.request(.GET, "/api/x?a=1&b=%20", headers: ["X-Note": "kept", "Authorization": "t"]), on: loop)
        #expect(get.status == .ok)
        #expect(get.node == "n1")
        #expect(get.headers.contains { $0.name == "X-Node" && $0.value == "fake" })
        guard case .buffer(let getBody) = get.body else { Issue.record("not buffered"); return }
        #expect(get.headers.filter { $0.name.lowercased() == "content-length" }.map(\.value) == [String(getBody.readableBytes)],
                "the node's Content-Length is not passed on; the body's length as read is")
        let echo = try Self.echo(get)
        #expect(echo["method"] as? String == "GET")
        #expect(echo["uri"] as? String == "/api/x?a=1&b=%20")
        let headers = try #require(echo["headers"] as? [String: [String]])
        #expect(headers["x-note"] == ["kept"])
        #expect(headers["authorization"] == ["t"])
        #expect(headers["host"] == [String(node.url.dropFirst("http://".count))])
        let post = try await proxy.forward(Self.request(.POST, "/api/y", body: #"{"content":"q"}"#, idempotent: false), on: loop)
        let posted = try Self.echo(post)
        #expect(posted["body"] as? String == #"{"content":"q"}"#)
        #expect((posted["headers"] as? [String: [String]])?["content-length"] == ["15"])
        for method in [HTTPMethod.POST, .PUT, .PATCH, .DELETE, .GET] {
            let echoed = try Self.echo(try await proxy.forward(Self.request(method, "/api/z", idempotent: false), on: loop))
            let headers = echoed["headers"] as? [String: [String]]
            let expected: [String]? = method == .DELETE || method == .GET ? nil : ["0"]
            #expect(headers?["content-length"] == expected, "a bodiless \(method) is sent with Content-Length: 0 only if it may carry a body")
            #expect(headers?["transfer-encoding"] == nil, "\(method)")
        }
        #expect(node.accepted == 1, "every request went over one kept connection")
        #expect(proxy.pool.nodes.allSatisfy { $0.inFlight == 0 && $0.errors == 0 && !$0.ejected })
        try await node.stop()
    }

    @Test("a node announced by host name (localhost: ::1 refuses, 127.0.0.1 answers) is reached without ejecting it")
    func hostNames() async throws {
        let node = try await FakeNode()
        let port = node.channel.localAddress!.port!
        let proxy = Self.proxy(Self.pool([("n1", "http://localhost:\(port)")]))
        for _ in 0..<3 {
            let answer = try await proxy.forward(Self.request(.POST, "/api/y", body: "{}", idempotent: false))
            #expect(answer.status == .ok)
        }
        #expect(proxy.pool.nodes.allSatisfy { !$0.ejected && $0.errors == 0 })
        try await node.stop()
    }

    @Test("a kept connection the node closes as a request arrives: a read goes once more on a new connection, the node stays in")
    func keptConnectionClosedByNode() async throws {
        let node = try await FakeNode()
        let proxy = Self.proxy(Self.pool([("n1", node.url)]))
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        _ = try await proxy.forward(Self.request(.GET, "/echo"), on: loop)
        let answer = try await proxy.forward(Self.request(.GET, "/second-closes"), on: loop)
        #expect(answer.status == .ok)
        #expect(node.accepted == 2, "the second try went over a new connection")
        #expect(proxy.pool.nodes.allSatisfy { !$0.ejected && $0.errors == 0 })
        // A write without an id is not sent twice: it fails, and the node is ejected.
        _ = try await proxy.forward(Self.request(.GET, "/echo"), on: loop)
        await #expect(throws: GatewayProxy.Failure.self) {
            try await proxy.forward(Self.request(.POST, "/second-closes", body: "{}", idempotent: false), on: loop)
        }
        #expect(node.accepted == 2)
        try await node.stop()
    }

    @Test("at most maxConnectionsPerNode connections per node and loop: more requests wait for one and are all answered")
    func connectionCap() async throws {
        let node = try await FakeNode()
        let proxy = Self.proxy(Self.pool([("n1", node.url)]), maxConnections: 2)
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let statuses = try await withThrowingTaskGroup(of: HTTPResponseStatus.self) { group in
            for _ in 0..<8 { group.addTask { try await proxy.forward(Self.request(.GET, "/delay?ms=50"), on: loop).status } }
            return try await group.reduce(into: [HTTPResponseStatus]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: .ok, count: 8))
        #expect(node.accepted == 2)
        #expect(node.served == 8)
        try await node.stop()
    }

    @Test("a node that cuts the connection is ejected; a read is retried on the other node, a write without an id is not")
    func cutConnections() async throws {
        let (a, b) = (try await FakeNode(), try await FakeNode())
        let proxy = Self.proxy(Self.pool([("n1", a.url), ("n2", b.url)]))
        await #expect(throws: GatewayProxy.Failure.self) { try await proxy.forward(Self.request(.GET, "/close")) }
        #expect(a.served == 1 && b.served == 1, "the read was tried on both nodes")
        #expect(proxy.pool.nodes.allSatisfy { $0.ejected && $0.inFlight == 0 })

        let proxy2 = Self.proxy(Self.pool([("n1", a.url), ("n2", b.url)]))
        await #expect(throws: GatewayProxy.Failure.self) { try await proxy2.forward(Self.request(.POST, "/close", idempotent: false)) }
        #expect(a.served + b.served == 3, "the write went to one node only")
        #expect(proxy2.pool.nodes.filter(\.ejected).count == 1)
        try await a.stop()
        try await b.stop()
    }

    @Test("a node that refuses connections is ejected and even a write goes to another node (it never left)")
    func refusedConnections() async throws {
        let (down, up) = (try await FakeNode(), try await FakeNode())
        let downURL = down.url
        try await down.stop()
        let proxy = Self.proxy(Self.pool([("n1", downURL), ("n2", up.url)]))
        let answer = try await proxy.forward(Self.request(.POST, "/api/y", body: "{}", idempotent: false), preferring: "n1")
        #expect(answer.node == "n2")
        #expect(up.served == 1)
        #expect(proxy.pool.nodes.first { $0.name == "n1" }?.ejected == true)
        #expect(proxy.pool.nodes.first { $0.name == "n2" }?.ejected == false)
        try await up.stop()
    }

    @Test("no answer within the timeout ejects the node; an answer over the size limit fails without ejecting")
    func timeoutsAndLimits() async throws {
        let node = try await FakeNode()
        let slow = Self.proxy(Self.pool([("n1", node.url)]), timeout: .milliseconds(200))
        await #expect(throws: GatewayProxy.Failure.self) { try await slow.forward(Self.request(.GET, "/silent")) }
        #expect(slow.pool.nodes.first?.ejected == true)

        let small = Self.proxy(Self.pool([("n1", node.url)]), maxResponseBytes: 1000)
        let fits = try await small.forward(Self.request(.GET, "/big?bytes=1000"))
        guard case .buffer(let body) = fits.body else { Issue.record("not buffered"); return }
        #expect(body.readableBytes == 1000)
        await #expect(throws: GatewayProxy.Failure.self) { try await small.forward(Self.request(.GET, "/big?bytes=5000")) }
        #expect(small.pool.nodes.first.map { !$0.ejected && $0.inFlight == 0 } == true)
        try await node.stop()
    }

    @Test("a kept connection's one timer: answers spanning several timeouts in a row are not failed; a silent node still fails a request at that request's own deadline")
    func keptConnectionTimer() async throws {
        let node = try await FakeNode()
        let proxy = Self.proxy(Self.pool([("n1", node.url)]), timeout: .milliseconds(300), maxConnections: 1)
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        // Eight answers of 100 ms each over the one connection: 800 ms, past two deadlines of
        // earlier requests while a later one is in flight.
        for _ in 0..<8 {
            #expect(try await proxy.forward(Self.request(.GET, "/delay?ms=100"), on: loop).status == .ok)
        }
        #expect(proxy.pool.nodes.first?.ejected == false)
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: GatewayProxy.Failure.self) { try await proxy.forward(Self.request(.GET, "/silent"), on: loop) }
        let waited = clock.now - start
        #expect(waited >= .milliseconds(280) && waited < .seconds(2), "failed after \(waited), the timeout is 300 ms")
        #expect(proxy.pool.nodes.first?.ejected == true)
        try await node.stop()
    }

    @Test("hop-by-hop header names are found in any letter case, and only they")
    func hopByHopNames() {
        for name in ForwardedRequest.hopByHop {
            #expect(ForwardedRequest.isHopByHop(name))
            #expect(ForwardedRequest.isHopByHop(name.uppercased()))
            #expect(ForwardedRequest.isHopByHop(String(name.prefix(1)).uppercased() + name.dropFirst()))
            #expect(!ForwardedRequest.isHopByHop(name + "s"))
            #expect(!ForwardedRequest.isHopByHop(String(name.dropLast())))
        }
        for name in ["Content-Type", "X-Host", "hosts", "", "t", "Authorization", "X-Forwarded-For", "connectiom", "a-very-long-header-name-beyond-any-hop-by-hop-one"] {
            #expect(!ForwardedRequest.isHopByHop(name), "\(name)")
        }
    }

    @Test("a node's answer headers: passed on as they came when only a matching Content-Length is hop-by-hop, else without the hop-by-hop ones and with the length read")
    func answerHeaders() {
        let usual: HTTPHeaders = ["Content-Type": "application/json", "content-length": "12", "X-Request": "a"]
        #expect(UpstreamExchangeHandler.endToEnd(usual, isHead: false, bodyLength: 12).map { "\($0.name): \($0.value)" }
            == ["Content-Type: application/json", "content-length: 12", "X-Request: a"])
        let cases: [(HTTPHeaders, Int)] = [
            (["Content-Type": "text/plain", "Content-Length": "012"], 12),
            (["Content-Type": "text/plain", "Content-Length": "13"], 12),
            (["Content-Type": "text/plain", "Connection": "keep-alive", "Content-Length": "12"], 12),
            (["Content-Length": "12", "Content-Length": "12", "Content-Type": "text/plain"], 12),
            (["Content-Type": "text/plain", "Transfer-Encoding": "chunked"], 12),
        ]
        for (headers, length) in cases {
            let kept = UpstreamExchangeHandler.endToEnd(headers, isHead: false, bodyLength: length)
            #expect(kept.map { "\($0.name): \($0.value)" } == ["Content-Type: text/plain", "Content-Length: 12"], "\(headers)")
        }
        #expect(!UpstreamExchangeHandler.onlyLength(["Content-Type": "text/plain"], is: 0))
    }

    @Test("a request's header is found in any letter case, its values joined, and only under its own name")
    func requestHeader() {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api/health", headers: [
            "authorization": "a", "Authorizatioo": "x", "X-Forwarded-For": "10.0.0.1", "AUTHORIZATION": "b", "Authorizations": "y",
        ])
        let request = GatewayRequest(head: head, peerIP: "127.0.0.1", eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        #expect(request.header("Authorization") == "a, b")
        #expect(request.header("x-forwarded-for") == "10.0.0.1")
        #expect(request.header("X-Forwarded-Fo") == nil)
        #expect(request.header("Expect") == nil)
        #expect(!GatewayRequest.sameName("a-b", "A_B"))
        #expect(!GatewayRequest.sameName("[", "{"))
    }

    @Test("an answer to HEAD keeps its Content-Length and has no body")
    func head() async throws {
        let node = try await FakeNode()
        let proxy = Self.proxy(Self.pool([("n1", node.url)]))
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let answer = try await proxy.forward(Self.request(.HEAD, "/head"), on: loop)
        #expect(answer.headers.first { $0.name.lowercased() == "content-length" }?.value == "1234")
        guard case .buffer(let body) = answer.body else { Issue.record("not buffered"); return }
        #expect(body.readableBytes == 0)
        // The connection is still usable after it (each event loop has its own connections).
        #expect(try await proxy.forward(Self.request(.GET, "/echo"), on: loop).status == .ok)
        #expect(node.accepted == 1)
        try await node.stop()
    }

    @Test("a streamed answer is passed on chunk by chunk, then its end")
    func streamed() async throws {
        let node = try await FakeNode()
        let proxy = Self.proxy(Self.pool([("n1", node.url)]))
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let answer = try await proxy.forward(Self.request(.GET, "/stream?chunks=3", streaming: true), on: loop)
        guard case .stream(let stream) = answer.body else { Issue.record("not streamed"); return }
        let chunks = Mutex<[String]>([])
        let ended = loop.makePromise(of: Void.self)
        try await loop.submit {
            stream.start { event in
                switch event {
                case .chunk(let chunk): chunks.withLock { $0.append(String(buffer: chunk)) }
                case .end(let error): if let error { ended.fail(error) } else { ended.succeed() }
                }
            }
        }.get()
        try await ended.futureResult.get()
        #expect(chunks.withLock { $0.joined() } == "data: 0\n\ndata: 1\n\ndata: 2\n\n")
        // A connection that streamed is not kept (it may have stopped reading for a slow client).
        #expect(try await proxy.forward(Self.request(.GET, "/echo"), on: loop).status == .ok)
        #expect(node.accepted == 2)
        try await node.stop()
    }
}
