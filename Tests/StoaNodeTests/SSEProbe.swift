import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One server-sent event as read off the wire.
struct SSEEvent: Sendable, Equatable {
    var id = ""
    var event = ""
    var data = ""

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] ?? [:] }
    var action: String? { json["action"] as? String }
    var record: [String: Any] { json["record"] as? [String: Any] ?? [:] }
}

/// A minimal SSE client over NIO for tests: opens `GET path` on loopback and parses the stream
/// into events (comments skipped). ``close()`` drops the connection.
final class SSEProbe: Sendable {
    let events: AsyncStream<SSEEvent>
    private let channel: any Channel

    private init(events: AsyncStream<SSEEvent>, channel: any Channel) {
        self.events = events
        self.channel = channel
    }

    static func open(port: Int, path: String = "/api/realtime", headers: [(String, String)] = []) async throws -> SSEProbe {
        let (events, continuation) = AsyncStream.makeStream(of: SSEEvent.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(Parser(continuation: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1")
        head.headers.add(name: "Accept", value: "text/event-stream")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
        return SSEProbe(events: events, channel: channel)
    }

    /// The next event, or nil when the stream ended or `timeout` passed first.
    func next(timeout: Duration = .seconds(10)) async -> SSEEvent? {
        let events = self.events
        return await withTaskGroup(of: SSEEvent?.self) { group in
            group.addTask {
                var iterator = events.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    func close() async {
        try? await channel.close()
    }

    private final class Parser: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let continuation: AsyncStream<SSEEvent>.Continuation
        var pending = ""

        init(continuation: AsyncStream<SSEEvent>.Continuation) { self.continuation = continuation }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .body(let buffer) = unwrapInboundIn(data) else { return }
            pending += String(buffer: buffer)
            while let range = pending.range(of: "\n\n") {
                let block = pending[..<range.lowerBound]
                pending = String(pending[range.upperBound...])
                var event = SSEEvent()
                var isEvent = false
                for line in block.split(separator: "\n") where !line.hasPrefix(":") {
                    let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                    let value = parts.count > 1 ? String(parts[1]) : ""
                    switch parts[0] {
                    case "id": event.id = value
                    case "event": event.event = value
                    case "data": event.data += value
                    default: continue
                    }
                    isEvent = true
                }
                if isEvent { continuation.yield(event) }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.finish()
        }
    }
}
