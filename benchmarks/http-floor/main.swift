// The floor under the gateway's cache hit: a SwiftNIO server that answers every request with one
// fixed response and does nothing else, to measure what SwiftNIO itself costs per request beside
// nginx in the same run (`benchmarks/gateway-vs-nginx.sh` runs it when FLOOR is set or built).
//
//   stoa-http-floor codec PORT RESPONSE_FILE   NIO's HTTP/1.1 server pipeline with its defaults
//                                              (llhttp decoder, pipelining handler, response
//                                              encoder, header validation, error handler);
//                                              writes the response's head, body and end
//   stoa-http-floor decoder PORT RESPONSE_FILE NIO's request decoder alone, the response
//                                              written as prepared bytes once per request (as
//                                              the gateway writes a cache hit on a connection
//                                              kept alive)
//   stoa-http-floor raw PORT RESPONSE_FILE     no HTTP codec: counts "\r\n\r\n" in the bytes
//                                              read and writes the response's bytes once per
//                                              request (bodiless requests only; not a server
//                                              anyone should ship: it parses nothing)
//   stoa-http-floor proxy PORT HOST:PORT[,HOST:PORT...]
//                                              the floor under a proxied request: NIO's HTTP/1.1
//                                              server pipeline (as in codec) relaying each
//                                              request's parts, as parsed, over NIO's HTTP/1.1
//                                              client pipeline to a node and the node's answer
//                                              back; one kept connection to a node per client
//                                              connection (nodes taken in turn), nothing else
//                                              (no header rewriting, timeouts, pool or retry)
//
// RESPONSE_FILE holds a whole HTTP/1.1 response as sent (`curl -s -i` of a cache hit). Two
// event loops (System.coreCount here), as the gateway. Runs until killed.
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

let arguments = CommandLine.arguments
guard arguments.count == 4, ["codec", "decoder", "raw", "proxy"].contains(arguments[1]), let port = Int(arguments[2]) else {
    print("usage: stoa-http-floor codec|decoder|raw PORT RESPONSE_FILE | proxy PORT HOST:PORT[,HOST:PORT...]")
    exit(2)
}
let upstreams: [(host: String, port: Int)] = arguments[1] != "proxy" ? [] : arguments[3].split(separator: ",").compactMap {
    let parts = $0.split(separator: ":")
    guard parts.count == 2, let port = Int(parts[1]) else { return nil }
    return (String(parts[0]), port)
}
let raw = arguments[1] == "proxy" ? "HTTP/1.1 200 OK\r\n\r\n" : try String(contentsOfFile: arguments[3], encoding: .utf8)
guard let split = raw.range(of: "\r\n\r\n") else {
    print("\(arguments[3]): no blank line after the head")
    exit(2)
}
let headLines = raw[..<split.lowerBound].components(separatedBy: "\r\n")
let bodyText = String(raw[split.upperBound...])
let statusCode = Int(headLines[0].split(separator: " ")[1]) ?? 200
let headers: HTTPHeaders = {
    var headers = HTTPHeaders()
    for line in headLines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers.add(name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
    return headers
}()
let body = ByteBuffer(string: bodyText)
let whole = ByteBuffer(string: raw)
let headBytes = ByteBuffer(string: String(raw[..<split.upperBound]))

/// Answers each request with the fixed head and body, through NIO's HTTP/1 codec.
final class CannedHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: statusCode), headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// Writes the fixed response's head and body, as prepared bytes, once per request NIO's
/// decoder parsed.
final class PreparedBytesHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        context.write(wrapOutboundOut(headBytes), promise: nil)
        context.writeAndFlush(wrapOutboundOut(body), promise: nil)
    }
}

/// Writes the fixed response's bytes once per "\r\n\r\n" read (no HTTP parsing at all).
final class CannedBytesHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private var matched = 0
    private var pending = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        for byte in buffer.readableBytesView {
            let expected: UInt8 = matched % 2 == 0 ? 13 : 10
            if byte == expected {
                matched += 1
                if matched == 4 {
                    matched = 0
                    context.write(wrapOutboundOut(whole), promise: nil)
                    pending = true
                }
            } else {
                matched = byte == 13 ? 1 : 0
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if pending {
            pending = false
            context.flush()
        }
    }
}

/// A client connection's end of the relay: sends each request's parts to its node connection
/// (opened when the client connects) and the node's answer back. Lives on the connection's loop.
final class RelayServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    static let next = NIOLockedValueBox(0)
    private var upstream: (any Channel)?
    private var queued: [HTTPClientRequestPart] = []

    func channelActive(context: ChannelHandlerContext) {
        let node = upstreams[Self.next.withLockedValue { next in
            defer { next += 1 }
            return next % upstreams.count
        }]
        let client = context.channel
        ClientBootstrap(group: context.eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(RelayClientHandler(client: client))
                }
            }
            .connect(host: node.host, port: node.port)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    upstream = channel
                    channel.closeFuture.whenComplete { _ in client.close(promise: nil) }
                    for part in queued { channel.write(part, promise: nil) }
                    if !queued.isEmpty { channel.flush() }
                    queued = []
                case .failure:
                    client.close(promise: nil)
                }
            }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part: HTTPClientRequestPart
        switch unwrapInboundIn(data) {
        case .head(let head): part = .head(head)
        case .body(let body): part = .body(.byteBuffer(body))
        case .end(let trailers): part = .end(trailers)
        }
        guard let upstream else { return queued.append(part) }
        if case .end = part { upstream.writeAndFlush(part, promise: nil) } else { upstream.write(part, promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }
}

/// A node connection's end of the relay: writes the node's answer, part by part, to the client.
final class RelayClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    private let client: any Channel
    init(client: any Channel) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            client.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: head.status, headers: head.headers)), promise: nil)
        case .body(let body):
            client.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        case .end(let trailers):
            client.writeAndFlush(HTTPServerResponsePart.end(trailers), promise: nil)
        }
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
let codec = arguments[1] == "codec"
let proxy = arguments[1] == "proxy"
let channel = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 256)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            if codec || proxy {
                try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                try pipeline.addHandler(proxy ? RelayServerHandler() as any ChannelHandler : CannedHTTPHandler())
            } else if arguments[1] == "decoder" {
                try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                try pipeline.addHandler(PreparedBytesHandler())
            } else {
                try pipeline.addHandler(CannedBytesHandler())
            }
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .wait()
print("listening on 127.0.0.1:\(channel.localAddress?.port ?? port) (\(arguments[1]))")
try channel.closeFuture.wait()
