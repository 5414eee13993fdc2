import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import StoaGateway

@Suite("GatewayServer against hostile clients: slowloris, idle connections, too many connections, big subscription bodies, malformed HTTP")
struct GatewayHostileClientTests {
    static func limits(idle: TimeAmount = .seconds(10), head: TimeAmount = .seconds(10), maxConnections: Int = 1000, maxRealtimeBody: Int = 64 << 10) -> GatewayServerLimits {
        GatewayServerLimits(maxBodyBytes: 1 << 20, maxRealtimeBodyBytes: maxRealtimeBody, idleTimeout: idle, headTimeout: head, maxConnections: maxConnections)
    }

    /// Sends a head's start on `connection`, then a byte of it every 100 ms (never idle, never
    /// done) until the server closes the connection or 10 s passed; the time from `start` then.
    static func trickleHead(on connection: RawConnection, since start: ContinuousClock.Instant) async throws -> Duration {
        try? await connection.send("GET /api/health HTTP/1.1\r\nHost: gw\r\nX-Slow: ")
        while connection.isOpen, ContinuousClock.now - start < .seconds(10) {
            try? await connection.send("x")
            try await Task.sleep(for: .milliseconds(100))
        }
        return ContinuousClock.now - start
    }

    @Test("a head trickled in a byte at a time (slowloris) is cut off at the head timeout, unanswered; a head sent in two pieces within it is answered, and so is a body sent slower than the head timeout")
    func slowloris() async throws {
        let node = try await FakeNode()
        try await GatewayServerTests.withServer(node: node, limits: Self.limits(idle: .seconds(30), head: .seconds(2))) { port, _ in
            // The clock starts before the connect: the server's head timer starts at its accept,
            // which a loaded machine can run well before `open` returns here (CI saw a send fail
            // on a connection the server had already closed at a 1 s deadline).
            let start = ContinuousClock.now
            let slow = try await RawConnection.open(port: port)
            let closedAfter = try await Self.trickleHead(on: slow, since: start)
            #expect(!slow.isOpen)
            #expect(closedAfter >= .milliseconds(1950) && closedAfter < .seconds(8), "closed at the head deadline: \(closedAfter)")
            #expect(slow.text.isEmpty, "nothing answered: \(slow.text)")

            let pieces = try await RawConnection.open(port: port)
            try await pieces.send("GET /api/health HTTP/1.1\r\n")
            try await Task.sleep(for: .milliseconds(100))
            try await pieces.send("Host: gw\r\nConnection: close\r\n\r\n")
            #expect(await pieces.waitForClose(timeout: .seconds(5)))
            #expect(pieces.text.hasPrefix("HTTP/1.1 200"), "\(pieces.text)")

            // The deadline is the head's: a body that takes longer than it (and is never idle
            // for the idle timeout) is read whole and answered.
            let slowBody = try await RawConnection.open(port: port)
            try await slowBody.send("POST /api/test/echo HTTP/1.1\r\nHost: gw\r\nContent-Length: 6\r\nConnection: close\r\n\r\n")
            let bodyStart = ContinuousClock.now
            for piece in ["ab", "cd", "ef"] {
                try await Task.sleep(for: .milliseconds(1200))
                try await slowBody.send(piece)
            }
            #expect(ContinuousClock.now - bodyStart > .seconds(3))
            #expect(await slowBody.waitForClose(timeout: .seconds(5)))
            #expect(slowBody.text.hasPrefix("HTTP/1.1 200") && slowBody.text.contains("abcdef"), "\(slowBody.text)")
        }
        #expect(node.served == 2)
        try await node.stop()
    }

    @Test("after kept-alive answers, a head trickled on the same connection is still cut off at the head timeout (the connection handler tells the deadline each answer ended)")
    func slowlorisAfterAnswers() async throws {
        let node = try await FakeNode()
        try await GatewayServerTests.withServer(node: node, limits: Self.limits(idle: .seconds(30), head: .seconds(2))) { port, _ in
            let connection = try await RawConnection.open(port: port)
            try await connection.send("GET /api/test/one HTTP/1.1\r\nHost: gw\r\n\r\nGET /api/test/two HTTP/1.1\r\nHost: gw\r\n\r\n")
            let clock = ContinuousClock()
            let answered = clock.now
            while connection.text.components(separatedBy: "HTTP/1.1 200").count < 3, clock.now - answered < .seconds(5) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(connection.text.components(separatedBy: "HTTP/1.1 200").count == 3, "both answered: \(connection.text)")
            let closedAfter = try await Self.trickleHead(on: connection, since: clock.now)
            #expect(!connection.isOpen)
            #expect(closedAfter >= .milliseconds(1900) && closedAfter < .seconds(8), "closed at the head deadline: \(closedAfter)")
        }
        #expect(node.served == 2)
        try await node.stop()
    }

    @Test("an idle connection closes at the idle timeout, also after a kept-alive answer; not while its request waits for a slow node or its realtime stream runs")
    func idleTimeout() async throws {
        let node = try await FakeNode()
        try await GatewayServerTests.withServer(node: node, limits: Self.limits(idle: .seconds(2))) { port, _ in
            let clock = ContinuousClock()
            // The four cases run side by side, each longer than the idle timeout.
            async let silentClosedAfter: Duration? = {
                // The clock starts before the connect: the server's timer starts at its accept,
                // which a loaded machine can run well before `open` returns here (1.86 s seen).
                let start = clock.now
                let silent = try await RawConnection.open(port: port)
                let closed = await silent.waitForClose(timeout: .seconds(15))
                return closed && silent.text.isEmpty ? clock.now - start : nil
            }()
            async let keptClosed: Bool = {
                let kept = try await RawConnection.open(port: port)
                try await kept.send("GET /api/health HTTP/1.1\r\nHost: gw\r\n\r\n")
                let answered = await kept.waitForText("HTTP/1.1 200", timeout: .seconds(10))
                let closed = await kept.waitForClose(timeout: .seconds(15))
                return answered && closed
            }()
            async let slow = RawClient.exchange(port: port, "GET /api/test/delay?ms=3000 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n", timeout: .seconds(15))
            async let stream = RawClient.exchange(port: port, "GET /api/realtime?chunks=150 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n", timeout: .seconds(15))

            let closedAfter = try await silentClosedAfter
            #expect(closedAfter.map { $0 >= .milliseconds(1900) } == true, "a connection that never sends is closed at the idle timeout: \(String(describing: closedAfter))")
            #expect(try await keptClosed, "a kept-alive connection left idle is closed")
            #expect(try await slow.text.hasPrefix("HTTP/1.1 200"), "a node slower than the idle timeout is waited for")
            let (streamed, closed) = try await stream
            #expect(closed)
            #expect(streamed.contains("data: 149\n\n"), "a stream running 3 s (idle timeout 2 s) is not cut")
            #expect(streamed.hasSuffix("0\r\n\r\n"))
        }
        try await node.stop()
    }

    @Test("over the connection limit a connection is accepted and closed at once, unanswered; once one closes a new client is served")
    func connectionLimit() async throws {
        let node = try await FakeNode()
        try await GatewayServerTests.withServer(node: node, limits: Self.limits(maxConnections: 2)) { port, _ in
            // Two kept connections, each answered once (so both are surely admitted).
            var kept: [RawConnection] = []
            for _ in 0..<2 {
                let connection = try await RawConnection.open(port: port)
                try await connection.send("GET /api/health HTTP/1.1\r\nHost: gw\r\n\r\n")
                #expect(await connection.waitForText("HTTP/1.1 200", timeout: .seconds(5)))
                kept.append(connection)
            }
            let third = try await RawConnection.open(port: port)
            try? await third.send("GET /api/health HTTP/1.1\r\nHost: gw\r\n\r\n")
            #expect(await third.waitForClose(timeout: .seconds(5)), "the third connection is closed")
            #expect(third.text.isEmpty, "and not answered: \(third.text)")
            #expect(kept.allSatisfy { $0.isOpen })
            await kept[0].close()
            var text = ""
            // The freed slot is counted out once the server has seen the close; until then a new
            // connection is closed at once, which the client may see as a failed send.
            for _ in 0..<50 where !text.hasPrefix("HTTP/1.1 200") {
                text = (try? await RawClient.exchange(port: port, "GET /api/health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n").text) ?? ""
                if !text.hasPrefix("HTTP/1.1 200") { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(text.hasPrefix("HTTP/1.1 200"), "a freed slot serves: \(text)")
            await kept[1].close()
        }
        #expect(node.served == 3)
        try await node.stop()
    }

    @Test("a subscription body over its limit is a 413 in PocketBase's envelope at once (declared or chunked) and nothing is forwarded; other bodies keep the general limit")
    func realtimeBodyLimit() async throws {
        let node = try await FakeNode()
        try await GatewayServerTests.withServer(node: node, limits: Self.limits(maxRealtimeBody: 1024)) { port, _ in
            let (declared, closedDeclared) = try await RawClient.exchange(
                port: port, "POST /api/realtime HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 31457280\r\n\r\n{\"clientId\":\"n1.x\","
            )
            #expect(declared.hasPrefix("HTTP/1.1 413"), "\(declared)")
            #expect(declared.contains(#"{"data":{},"message":"Request entity too large.","status":413}"#))
            #expect(closedDeclared)
            let chunk = String(repeating: " ", count: 600)
            let (chunked, closedChunked) = try await RawClient.exchange(
                port: port, "POST //api/realtime/ HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n"
            )
            #expect(chunked.hasPrefix("HTTP/1.1 413") && chunked.contains("\"status\":413"), "\(chunked)")
            #expect(closedChunked)
            #expect(node.served == 0)

            let subscription = #"{"clientId":"n1.abcdef","subscriptions":["quotes"]}"#
            let (small, _) = try await RawClient.exchange(
                port: port, "POST /api/realtime HTTP/1.1\r\nHost: gw\r\nContent-Length: \(subscription.utf8.count)\r\nConnection: close\r\n\r\n\(subscription)"
            )
            #expect(small.hasPrefix("HTTP/1.1 200"), "\(small)")
            let big = String(repeating: "x", count: 4000)
            let (other, _) = try await RawClient.exchange(port: port, "POST /api/test/echo HTTP/1.1\r\nHost: gw\r\nContent-Length: 4000\r\nConnection: close\r\n\r\n\(big)")
            #expect(other.hasPrefix("HTTP/1.1 200"), "other routes keep the general body limit")
        }
        #expect(node.served == 2)
        try await node.stop()
    }

    @Test("malformed HTTP (bad chunk size, bad header line, bad request line, bad Content-Length) is a 400 in PocketBase's envelope and a close; nothing reaches the node")
    func malformed() async throws {
        let node = try await FakeNode()
        try await GatewayServerTests.withServer(node: node) { port, _ in
            let requests = [
                "POST /api/collections/quotes/records HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
                "POST /api/collections/quotes/records HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
                "POST /api/realtime HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\n\r\n",
                "GET /api/health HTTP/1.1\r\nBad Header\r\n\r\n",
                "GARBAGE\r\n\r\n",
                "POST /api/collections/quotes/records HTTP/1.1\r\nHost: gw\r\nContent-Length: abc\r\n\r\n{}",
            ]
            for request in requests {
                let (text, closed) = try await RawClient.exchange(port: port, request, timeout: .seconds(5))
                #expect(text.hasPrefix("HTTP/1.1 400"), "\(request.debugDescription): \(text)")
                #expect(text.contains(#"{"data":{},"message":"Something went wrong while processing your request.","status":400}"#), "\(text)")
                #expect(text.lowercased().contains("connection: close"))
                #expect(closed, "the connection closes after a malformed request: \(request.debugDescription)")
            }
            // A malformed request after a good one on a kept connection: the good one is
            // answered, then the 400.
            let (both, closed) = try await RawClient.exchange(port: port, "GET /api/health HTTP/1.1\r\nHost: gw\r\n\r\nGET /api/health HTTP/1.1\r\nBad Header\r\n\r\n")
            #expect(both.hasPrefix("HTTP/1.1 200"))
            #expect(both.contains("HTTP/1.1 400"), "\(both)")
            #expect(closed)
        }
        #expect(node.served == 1)
        try await node.stop()
    }
}

/// A raw client connection kept open, for tests that send in pieces and watch for the close.
final class RawConnection: Sendable {
    let channel: any Channel
    let collector: RawClient.Collector

    private init(channel: any Channel, collector: RawClient.Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func open(port: Int) async throws -> RawConnection {
        let collector = RawClient.Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws { try await channel.writeAndFlush(ByteBuffer(string: text)) }

    var isOpen: Bool { channel.isActive }
    var text: String { collector.text }

    /// Waits until the server closes the connection; true when it did within `timeout`.
    func waitForClose(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while channel.isActive, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !channel.isActive
    }

    /// Waits until what the server sent contains `expected`; true when it did within `timeout`.
    func waitForText(_ expected: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !text.contains(expected), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return text.contains(expected)
    }

    func close() async { try? await channel.close() }
}
