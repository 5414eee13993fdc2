import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Prometheus
import StoaNode

/// Answers every request reaching the gateway: its own pages (`/_/`, `/api/gateway`,
/// `/metrics`), and for everything else rate limiting, the per-user response cache and the
/// proxy to a live node, in that order. Every proxied answer carries the rate-limit headers.
public struct GatewayResponder: HTTPResponder {
    public typealias Context = GatewayRequestContext

    let proxy: GatewayProxy
    /// Verifies the callers' tokens (remembering each valid one until it expires).
    let tokens: TokenService?
    let limiter: GatewayRateLimit?
    let cache: GatewayCache?
    let status: GatewayStatusSource
    let registry: PrometheusCollectorRegistry
    let maxBodyBytes: Int
    let scheme: String
    let counters = GatewayCounters()
    let affinity = WriterAffinity()

    public init(proxy: GatewayProxy, tokens: TokenService?, limiter: GatewayRateLimit?, cache: GatewayCache?, status: GatewayStatusSource,
                registry: PrometheusCollectorRegistry, maxBodyBytes: Int = 32 << 20, scheme: String = "http") {
        self.proxy = proxy
        self.tokens = tokens
        self.limiter = limiter
        self.cache = cache
        self.status = status
        self.registry = registry
        self.maxBodyBytes = maxBodyBytes
        self.scheme = scheme
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        switch path {
        case "/_", "/_/", "/api/gateway", "/metrics":
            // The gateway's own pages count against the same limits (as a guest's reads).
            var limitHeaders: [(name: String, value: String)] = []
            if let limiter {
                let decision = limiter.decide(user: nil, peer: context.peerIP, forwardedFor: request.headers[.xForwardedFor], isWrite: false, now: Self.now())
                if !decision.admitted { return Self.tooManyRequests(decision) }
                limitHeaders = decision.headers
            }
            var response: Response
            switch path {
            case "/api/gateway": response = Self.json(await status.snapshot(now: Self.now()))
            case "/metrics":
                response = Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            default: response = GatewayDashboardPage.response()
            }
            for header in limitHeaders { if let name = HTTPField.Name(header.name) { response.headers[name] = header.value } }
            return response
        default: return await proxied(request, path: path, context: context)
        }
    }

    /// PocketBase's 429, with the limiter's headers (`Retry-After` among them).
    static func tooManyRequests(_ decision: RateLimitDecision) -> Response {
        var error = PBError(.tooManyRequests, "Too Many Requests.")
        for header in decision.headers { if let name = HTTPField.Name(header.name) { error.headers[name] = header.value } }
        return Self.error(error)
    }

    // MARK: - Proxying

    private func proxied(_ request: Request, path: String, context: Context) async -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            return Self.error(.tooLarge)
        }
        let route = RequestRoute(method: request.method.rawValue, path: path)
        let user = await tokens?.identity(fromAuthorization: request.headers[.authorization])?.userID
        let peer = context.peerIP

        // Rate limiting: decided at once, never queued.
        var limitHeaders: [(name: String, value: String)] = []
        if let limiter {
            let decision = limiter.decide(user: user, peer: peer, forwardedFor: request.headers[.xForwardedFor], isWrite: route.isWrite, now: Self.now())
            limitHeaders = decision.headers
            if !decision.admitted { return Self.tooManyRequests(decision) }
        }

        var response: Response
        // Without the token secret a caller's identity is unknown: their reads are not cached.
        let identityKnown = tokens != nil || request.headers[.authorization] == nil
        // A user (a guest: an address) who just wrote is served by the node that took the write
        // for a moment, so they read it before it has replicated.
        let writer = user ?? "address " + peer
        let preferred = affinity.node(for: writer, now: Self.now())
        if let cache, route.isRecordRead, identityKnown {
            let eventLoop = context.eventLoop
            // A hit needs no forwarded request: it is made on a miss only.
            response = await cache.respond(key: GatewayCache.key(user: user, path: path, query: request.uri.query), request: request) { [request] in
                try await proxy.forward(forwardedRequest(request, path: path, body: body, route: route, peer: peer), preferring: preferred, on: eventLoop)
            }
        } else {
            let forwarded = forwardedRequest(request, path: path, body: body, route: route, peer: peer)
            do {
                let answer = try await proxy.forward(forwarded, preferring: preferred, on: context.eventLoop)
                if route.isWrite { affinity.wrote(user: writer, on: answer.node, now: Self.now()) }
                // A write invalidates the writer's cached views of what it touched before the
                // client hears back, so its next read never comes from before its write.
                if route.isWrite, let collection = route.collection, let cache {
                    cache.invalidate(user: user ?? "", collection: collection, recordID: route.recordID)
                }
                response = Self.response(answer)
                if cache != nil, request.method == .get { response.headers[.xCacheStatus] = "BYPASS" }
            } catch {
                if route.isWrite, let collection = route.collection, let cache {
                    // It may have been applied before the node failed.
                    cache.invalidate(user: user ?? "", collection: collection, recordID: route.recordID)
                }
                response = Self.unavailable(error)
            }
        }
        for header in limitHeaders { if let name = HTTPField.Name(header.name) { response.headers[name] = header.value } }
        counters.count(status: response.status.code)
        return response
    }

    private func forwardedRequest(_ request: Request, path: String, body: ByteBuffer, route: RequestRoute, peer: String) -> ForwardedRequest {
        var headers = HTTPHeaders()
        var forwardedFor: String?
        for field in request.headers {
            let name = field.name.canonicalName
            if name == "x-forwarded-for" {
                forwardedFor = forwardedFor.map { $0 + ", " + field.value } ?? field.value
                continue
            }
            if ForwardedRequest.hopByHop.contains(name) || name == "x-forwarded-proto" { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        headers.add(name: "X-Forwarded-For", value: forwardedFor.map { $0 + ", " + peer } ?? peer)
        headers.add(name: "X-Forwarded-Proto", value: scheme)
        if let host = request.head.authority { headers.add(name: "X-Forwarded-Host", value: host) }
        let hasBody = body.readableBytes > 0
        let idempotent = route.isIdempotent(method: request.method.rawValue, bodyHasID: request.method == .post && ForwardedRequest.bodyHasID(body))
        var target = path
        if let query = request.uri.query, !query.isEmpty { target += "?" + query }
        let realtime = path == "/api/realtime"
        return ForwardedRequest(
            method: NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue), target: target, headers: headers,
            body: hasBody ? body : nil, idempotent: idempotent, streaming: realtime && request.method == .get,
            node: realtime && request.method == .post ? Self.realtimeNode(body) : nil
        )
    }

    /// The node holding the stream of the realtime client a subscription request names (client
    /// ids start with the issuing node's name, see `RealtimeBroker.node(ofClient:)`); nil when
    /// the body names none, and any node then answers PocketBase's 404 or 400.
    static func realtimeNode(_ body: ByteBuffer) -> String? {
        struct Subscription: Decodable { let clientId: String? }
        guard let subscription = try? JSONDecoder().decode(Subscription.self, from: Data(body.readableBytesView)),
              let clientID = subscription.clientId else { return nil }
        return RealtimeBroker.node(ofClient: clientID)
    }

    // MARK: - Responses

    static func response(_ answer: ProxiedResponse) -> Response {
        var fields = HTTPFields()
        fields.reserveCapacity(answer.headers.count + 4)
        for header in answer.headers { if let name = HTTPField.Name(header.name) { fields.append(HTTPField(name: name, value: header.value)) } }
        let status = HTTPResponse.Status(code: Int(answer.status.code))
        switch answer.body {
        case .buffer(let buffer): return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: buffer))
        case .stream(let stream): return Response(status: status, headers: fields, body: ResponseBody(asyncSequence: stream))
        }
    }

    static func unavailable(_ error: any Error) -> Response {
        switch error {
        case GatewayProxy.Failure.noNodeAvailable:
            return Self.error(PBError(.serviceUnavailable, "No node is available to serve the request."))
        case GatewayProxy.Failure.badRequest:
            return Self.error(PBError.badRequest())
        default:
            return Self.error(PBError(.badGateway, "The node serving the request failed."))
        }
    }

    static func error(_ error: PBError) -> Response {
        var fields = error.headers
        fields[.contentType] = "application/json"
        return Response(status: error.status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: error.body)))
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ value: some Encodable) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xCacheStatus = HTTPField.Name("X-Cache-Status")!
    static let pragma = HTTPField.Name("Pragma")!
}

/// Counters of answered requests by status class (Prometheus `stoa_gateway_responses_total`).
final class GatewayCounters: Sendable {
    let classes: [Metrics.Counter] = (1...5).map { Metrics.Counter(label: "stoa_gateway_responses_total", dimensions: [("class", "\($0)xx")]) }

    func count(status: Int) {
        let index = status / 100 - 1
        if classes.indices.contains(index) { classes[index].increment() }
    }
}
