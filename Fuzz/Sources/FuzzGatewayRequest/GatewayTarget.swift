import Dispatch
import FuzzSupport
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Prometheus
@testable import StoaGateway
@testable import StoaNode

/// The checks of the gateway-request target (see main.swift).
enum GatewayTarget {
    /// TCP peers a request may come from: trusted proxies (v4, v6, IPv4-mapped) and not.
    static let peers = ["127.0.0.1", "10.1.2.3", "203.0.113.7", "2001:db8::5", "::ffff:10.0.0.9", "2001:db9::1", "::1", ""]
    static let trustedProxies = ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32", "::1/128"].map { try! CIDR(parsing: $0) }
    /// The token secret of the seeds' tokens (see Fuzz/corpus/gateway-request).
    static let tokenSecret = "stoa-fuzz-secret"
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    static let connections = UpstreamConnections(group: group)
    static let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    /// Tight limits, so a few pipelined requests reach the 429 path.
    static let policies = ["ip:ip:all:1:3", "user-writes:user:writes:1:2", "global:global:all:1000:1000"].map { try! RateLimitPolicy(parsing: $0) }

    /// A responder with fresh state (limiter, cache, remembered tokens), so an input replays alone.
    static func makeResponder() -> GatewayResponder {
        let tokens = blocking { await TokenService(secret: tokenSecret) }
        guard case .success(let tokens) = tokens else { fatalError() }
        let pool = NodePool()
        let limiter = GatewayRateLimit(policies: policies, trustedProxies: trustedProxies, maxKeys: 64)
        let cache = GatewayCache(byteBudget: 1 << 20, ttlNanos: 5_000_000_000, staleForNanos: 300_000_000_000)
        return GatewayResponder(
            proxy: GatewayProxy(pool: pool, connections: connections, timeout: .seconds(1), logger: logger),
            tokens: tokens, limiter: limiter, cache: cache,
            status: GatewayStatusSource(pool: pool, membership: nil, limiter: limiter, cache: cache, startedAt: DispatchTime.now().uptimeNanoseconds),
            registry: PrometheusCollectorRegistry()
        )
    }

    // MARK: - A connection's bytes

    static func checkConnection(_ bytes: [UInt8], peer: String) {
        let channel = EmbeddedChannel()
        let collector = RequestCollector()
        do {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(collector)
        } catch {
            fatalError("cannot build the HTTP pipeline: \(error)")
        }
        // A malformed request is answered 400 by NIO's error handler and closes the connection;
        // the requests read before it still count.
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
        // The error handler may have closed the channel already; finishing it anyway runs the
        // pipeline's teardown (skipping it left every malformed input's channel in memory).
        _ = try? channel.finish(acceptAlreadyClosed: true)
        channel.embeddedEventLoop.run()
        guard !collector.requests.isEmpty else { return }
        let responder = makeResponder()
        let loop = group.next()
        for (head, body) in collector.requests {
            checkPureParts(head, body: body, peer: peer)
            let request = GatewayRequest(head: head, body: body, peerIP: peer, eventLoop: loop)
            let response: GatewayResponse
            do {
                response = try responder.respond(to: request).wait()
            } catch {
                fatalError("the responder failed instead of answering: \(error)")
            }
            fuzzCheck((100...599).contains(Int(response.status.code)), "an answer has status \(response.status.code)")
            if case .stream(let stream) = response.body { stream.cancel() }
        }
    }

    /// The parsing the responder relies on, checked for consistency.
    static func checkPureParts(_ head: HTTPRequestHead, body: ByteBuffer, peer: String) {
        let uri = head.uri
        let path = String(uri.firstIndex(of: "?").map { uri[..<$0] } ?? uri[...])
        let query = uri.firstIndex(of: "?").map { String(uri[uri.index(after: $0)...]) }
        let route = RequestRoute(method: head.method.rawValue, path: path)
        fuzzCheck(route.recordID == nil || route.collection != nil, "a route has a record id without a collection")
        fuzzCheck(!route.isRecordRead || route.collection != nil, "a record read without a collection")
        _ = route.isIdempotent(method: head.method.rawValue, bodyHasID: ForwardedRequest.bodyHasID(body))
        // The cache files a read under the records its path shows; a write to the same path must
        // name the same records, or it would not invalidate what the read cached.
        let target = ResponseCachePathTarget(path: path)
        fuzzCheck(
            target?.collection == route.collection && target?.recordID == route.recordID,
            "the cache and the router read \(path) differently: \(String(describing: target)) vs \(route)"
        )
        let key = GatewayCache.key(user: nil, path: path, query: query)
        fuzzCheck(CacheKey.normalizedQuery(key.query) == key.query, "a normalized query is not stable")
        if let query { checkCacheKeyOrder(query, key: key.query) }
        _ = GatewayResponder.realtimeNode(body)
        _ = TokenService.token(fromAuthorization: head.headers["authorization"].first)
        _ = GatewayCache.asksNoCache(head.headers)
        for (name, _) in head.headers { _ = ForwardedRequest.isHopByHop(name) }

        // The X-Forwarded-For walk, and every address in it read back from its own text.
        let forwardedFor = head.headers["x-forwarded-for"].joined(separator: ",")
        let key1 = ClientAddress.key(peer: peer, forwardedFor: forwardedFor, trustedProxies: trustedProxies)
        fuzzCheck(key1 == ClientAddress.key(peer: peer, forwardedFor: forwardedFor, trustedProxies: trustedProxies), "the limiter key is not deterministic")
        if let address = ClientAddress.IP(entry: peer) {
            let client = ClientAddress.client(peer: address, forwardedFor: forwardedFor, trustedProxies: trustedProxies)
            fuzzCheck(client == address || trustedProxies.contains { $0.contains(address) }, "an untrusted peer chose its limiter key")
        }
        for entry in forwardedFor.split(separator: ",") {
            guard let ip = ClientAddress.IP(entry: entry) else { continue }
            checkAddress(ip)
        }
    }

    /// The parameters of `query` in reverse order get the same cache key when the node reads
    /// both alike (distinct names), and another one when it does not (a repeated name: the node
    /// reads the first value).
    static func checkCacheKeyOrder(_ query: String, key: String) {
        let pairs = query.split(separator: "&")
        let reordered = pairs.reversed().joined(separator: "&")
        let names = pairs.map { FormQuery.decode($0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]) }
        if Set(names).count == names.count {
            fuzzCheck(CacheKey.normalizedQuery(reordered) == key, "the cache key depends on the order of distinct parameters")
        } else {
            let original = FormQuery(query), reversed = FormQuery(reordered)
            if names.contains(where: { original.get($0) != reversed.get($0) }) {
                fuzzCheck(CacheKey.normalizedQuery(reordered) != key, "two queries the node reads differently share a cache key: \(query)")
            }
        }
    }

    /// An address's text reads back as the address; its limiter key is a block holding it.
    static func checkAddress(_ ip: ClientAddress.IP) {
        fuzzCheck(ClientAddress.IP(ip.description) == ip, "\(ip) does not read back from its text")
        guard case .v6 = ip else { return }
        guard let block = try? CIDR(parsing: ip.limiterKey) else { fatalError("the limiter key \(ip.limiterKey) of \(ip) is not a block") }
        fuzzCheck(block.contains(ip), "the limiter key \(ip.limiterKey) does not hold \(ip)")
    }

    // MARK: - Trusted proxies

    static func checkCIDR(_ text: String) {
        guard let block = try? CIDR(parsing: text) else { return }
        fuzzCheck((try? CIDR(parsing: block.description)) == block, "the block \(block) does not read back from its text")
        fuzzCheck(block.contains(block.network), "the block \(block) does not hold its own network address")
        checkAddress(block.network)
    }
}

/// Collects the complete requests NIO's codec reads from a connection (head and whole body).
final class RequestCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    var requests: [(HTTPRequestHead, ByteBuffer)] = []
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            if let head { requests.append((head, body)) }
            head = nil
            body = ByteBuffer()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
