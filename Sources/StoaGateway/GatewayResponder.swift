import Dispatch
import Foundation
import Metrics
import NIOCore
import NIOHTTP1
import Prometheus
import StoaGossip
import StoaNode

/// Answers every request reaching the gateway. On the public (client) port: the public API
/// only (``RequestRoute/isPublic``), through rate limiting, the per-user response cache and the
/// proxy to a live node, in that order; every proxied answer carries the rate-limit headers.
/// The nodes' internal `/api/cluster`, the gateway's own pages and any path outside `/api/` are
/// answered 404 there. On the admin listener: the gateway's own pages (`/_/`, `/api/gateway`,
/// `/metrics`) and nothing else.
///
/// Answers on the request's event loop. The usual request (a known token or none, a cache hit
/// or no cache) is decided there without a task; a token seen for the first time, a cache miss
/// and the gateway's status page run in a task.
public struct GatewayResponder: Sendable {
    let proxy: GatewayProxy
    /// Verifies the callers' tokens (remembering each valid one until it expires).
    let tokens: TokenService?
    let limiter: GatewayRateLimit?
    let cache: GatewayCache?
    let status: GatewayStatusSource
    let registry: PrometheusCollectorRegistry
    let scheme: String
    let counters = GatewayCounters()
    let affinity: WriterAffinity
    /// Tells the other gateways of each write (nil without a cache).
    let sync: GatewayCacheSync?

    public init(proxy: GatewayProxy, tokens: TokenService?, limiter: GatewayRateLimit?, cache: GatewayCache?, status: GatewayStatusSource,
                registry: PrometheusCollectorRegistry, scheme: String = "http", affinity: WriterAffinity = WriterAffinity(), sync: GatewayCacheSync? = nil) {
        self.affinity = affinity
        self.sync = sync
        self.proxy = proxy
        self.tokens = tokens
        self.limiter = limiter
        self.cache = cache
        self.status = status
        self.registry = registry
        self.scheme = scheme
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The answer to `request` on the public port, completed on `request.eventLoop`.
    public func respond(to request: GatewayRequest) -> EventLoopFuture<GatewayResponse> {
        var kept: RememberedToken?
        return answer(to: request, token: &kept).future(on: request.eventLoop)
    }

    /// The answer to `request` on the public port: at once when decided on the request's loop
    /// (a cache hit, a rejection), else a future completed on `request.eventLoop`. `token` is
    /// what the caller's connection keeps of its last `Authorization` (a repeated header is
    /// then known by comparing it), updated here.
    func answer(to request: GatewayRequest, token kept: inout RememberedToken?) -> GatewayAnswer {
        let loop = request.eventLoop
        // Origin-form targets only (`/path?query`): an absolute-form target would reach the
        // node's router by another spelling than the one checked here.
        guard request.head.uri.utf8.first == UInt8(ascii: "/") else {
            counters.count(status: 400)
            return .now(GatewayResponse(PBError.badRequest()))
        }
        let route = RequestRoute(method: request.head.method, path: request.path)
        if route.isGatewayStatus { return .later(gatewayStatus(request)) }
        guard route.isPublic else {
            counters.count(status: 404)
            return .now(GatewayResponse(PBError.notFound))
        }
        let authorization = request.header("Authorization")
        guard let tokens, let authorization else { return proxied(request, route: route, user: nil, hasAuthorization: authorization != nil) }
        if let known = tokens.rememberedIdentity(fromAuthorization: authorization, kept: &kept) {
            return proxied(request, route: route, user: Self.principal(known), hasAuthorization: true)
        }
        return .later(loop.makeFutureWithTask { await tokens.identity(fromAuthorization: authorization) }
            .flatMap { identity in proxied(request, route: route, user: identity.map(Self.principal), hasAuthorization: true).future(on: loop) })
    }

    /// Who a request is from, for rate limits, the cache and writer affinity: a user's id, or
    /// `_superusers/` and a superuser's id (a user may choose its id at sign-up: a superuser's
    /// cached answers, which hold every user's records, must never be filed under a user's id).
    static func principal(_ identity: AuthIdentity) -> String {
        identity.isSuperuser ? "_superusers/" + identity.userID : identity.userID
    }

    /// `GET /api/gateway` on the public port: the status (as on the admin listener) for a
    /// superuser token, for the dashboard's cluster page; 404 for anyone else, as before.
    private func gatewayStatus(_ request: GatewayRequest) -> EventLoopFuture<GatewayResponse> {
        let authorization = request.header("Authorization")
        return request.eventLoop.makeFutureWithTask { [tokens, status, counters] in
            guard request.head.method.isGET, let tokens, await tokens.identity(fromAuthorization: authorization)?.isSuperuser == true else {
                counters.count(status: 404)
                return GatewayResponse(PBError.notFound)
            }
            counters.count(status: 200)
            return Self.json(await status.snapshot(now: Self.now()))
        }
    }

    /// The answer to `request` on the admin listener: the dashboard (`/_/`), the same as JSON
    /// (`/api/gateway`) and the Prometheus metrics (`/metrics`); 404 for anything else. Not
    /// rate-limited: the admin listener is for operators (loopback by default).
    public func respondAdmin(to request: GatewayRequest) -> EventLoopFuture<GatewayResponse> {
        let loop = request.eventLoop
        switch request.path {
        case "/api/gateway":
            return loop.makeFutureWithTask { [status] in Self.json(await status.snapshot(now: Self.now())) }
        case "/metrics":
            return loop.makeSucceededFuture(GatewayResponse(
                status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4"], body: .buffer(ByteBuffer(bytes: registry.emitToBuffer()))
            ))
        case "/_", "/_/":
            return loop.makeSucceededFuture(GatewayDashboardPage.response())
        default:
            return loop.makeSucceededFuture(GatewayResponse(PBError.notFound))
        }
    }

    /// PocketBase's 429, with the limiter's headers (`Retry-After` among them).
    static func tooManyRequests(_ decision: RateLimitDecision) -> GatewayResponse {
        adding(decision.headers, to: GatewayResponse(PBError(.tooManyRequests, "Too Many Requests.")))
    }

    /// A proxied answer as the client gets it: with the limiter's headers, its status counted.
    static func finished(_ response: GatewayResponse, limitHeaders: [(name: String, value: String)], counters: GatewayCounters) -> GatewayResponse {
        let response = limitHeaders.isEmpty ? response : adding(limitHeaders, to: response)
        counters.count(status: Int(response.status.code))
        return response
    }

    static func adding(_ headers: [(name: String, value: String)], to response: GatewayResponse) -> GatewayResponse {
        var response = response
        for header in headers { response.headers.replaceOrAdd(name: header.name, value: header.value) }
        return response
    }

    // MARK: - Proxying

    private func proxied(_ request: GatewayRequest, route: RequestRoute, user: String?, hasAuthorization: Bool) -> GatewayAnswer {
        let loop = request.eventLoop
        let path = request.path
        let peer = request.peerIP

        // Rate limiting: decided at once, never queued.
        let now = Self.now()
        let decision = limiter?.decide(
            user: user, peer: peer, forwardedFor: request.header("X-Forwarded-For"), isWrite: route.isWrite, isAuth: route.isAuth, now: now
        )
        if let decision, !decision.admitted { return .now(Self.tooManyRequests(decision)) }
        let limitHeaders = decision?.headers ?? []

        // Without the token secret a caller's identity is unknown: their reads are not cached.
        let identityKnown = tokens != nil || !hasAuthorization
        // A user (a guest: an address) who just wrote is served by the node that took the write
        // for a moment, so they read it before it has replicated.
        let writer = user ?? "address " + peer
        var missed: CacheKey?
        if let cache, route.isRecordRead, identityKnown {
            let key = GatewayCache.key(user: user, path: String(path), query: request.query.map(String.init))
            // A hit needs no forwarded request, no task and no future. Its headers are the
            // node's kept ones and the cache's: the limiter's are added, not replaced.
            if var hit = cache.hit(key: key, headers: request.head.headers, now: now) {
                for header in limitHeaders { hit.headers.add(name: header.name, value: header.value) }
                counters.count(status: Int(hit.status.code))
                return .now(hit)
            }
            missed = key
        }
        if let cache, let key = missed {
            let preferred = affinity.node(for: writer, now: Self.now())
            return .later(loop.makeFutureWithTask { [proxy] in
                await cache.respond(key: key, headers: request.head.headers) {
                    try await proxy.forward(forwardedRequest(request, route: route), preferring: preferred, on: loop)
                }
            }.map { [counters] in Self.finished($0, limitHeaders: limitHeaders, counters: counters) })
        }
        return .proxied(GatewayProxiedCall(
            proxy: proxy, request: forwardedRequest(request, route: route), preferring: affinity.node(for: writer, now: Self.now()), loop: loop,
            route: route, user: user, writer: writer, limitHeaders: limitHeaders, affinity: affinity, cache: cache,
            // With other gateways, a write is answered once they have dropped what they cached of it.
            invalidation: sync?.hasPeers == true ? Self.invalidation(after: route, by: user, writer: writer) : nil, sync: sync, counters: counters
        ))
    }

    /// What a write by `user` (nil: a guest, `writer` its affinity key) tells the other
    /// gateways' caches, as ``invalidate(_:after:by:)`` applies it here; nil for requests that
    /// change nothing cached. The node is filled in once known.
    static func invalidation(after route: RequestRoute, by user: String?, writer: String) -> CacheInvalidation? {
        guard route.isWrite else { return nil }
        if let collection = route.collection {
            return CacheInvalidation(user: user ?? "", writer: writer, collection: collection, recordID: route.recordID, everyRecord: false, node: "")
        }
        guard route.isSync else { return nil }
        return CacheInvalidation(user: user ?? "", writer: writer, collection: RequestRoute.syncedCollection, recordID: nil, everyRecord: true, node: "")
    }

    /// Drops from the cache what a write by `user` (nil: a guest) may have changed, before its
    /// answer goes out: a write to a record drops the user's lists of its collection and the
    /// record's view; `POST /api/sync` (edits to any of the user's quotes) drops every list and
    /// view of the user's quotes. Other requests (reads, realtime subscriptions, sign-in) change
    /// nothing cached.
    static func invalidate(_ cache: GatewayCache, after route: RequestRoute, by user: String?) {
        guard route.isWrite else { return }
        if let collection = route.collection {
            cache.invalidate(user: user ?? "", collection: collection, recordID: route.recordID)
        } else if route.isSync {
            cache.invalidateAll(user: user ?? "", collection: RequestRoute.syncedCollection)
        }
    }

    private func forwardedRequest(_ request: GatewayRequest, route: RequestRoute) -> ForwardedRequest {
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.head.headers.count + 3)
        var forwardedFor: String?
        var host: String?
        for (name, value) in request.head.headers {
            if name.utf8.count == 15, name.lowercased() == "x-forwarded-for" {
                forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
                continue
            }
            if ForwardedRequest.isHopByHop(name) {
                if host == nil, name.utf8.count == 4 { host = value }
                continue
            }
            if name.utf8.count == 17, name.lowercased() == "x-forwarded-proto" { continue }
            // The whole body goes with the request: the client's Expect was answered already.
            if name.utf8.count == 6, name.lowercased() == "expect" { continue }
            headers.add(name: name, value: value)
        }
        headers.add(name: "X-Forwarded-For", value: forwardedFor.map { $0 + ", " + request.peerIP } ?? request.peerIP)
        headers.add(name: "X-Forwarded-Proto", value: scheme)
        if let host { headers.add(name: "X-Forwarded-Host", value: host) }
        let method = request.head.method
        let body = request.body
        let idempotent = route.isIdempotent(method: method, bodyHasID: method.isPOST && ForwardedRequest.bodyHasID(body))
        let realtime = route.isRealtime
        return ForwardedRequest(
            method: method, target: request.head.uri, headers: headers,
            body: body.readableBytes > 0 ? body : nil, idempotent: idempotent, streaming: realtime && method.isGET,
            node: realtime && method.isPOST ? Self.realtimeNode(body) : nil
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

    static func unavailable(_ error: any Error) -> GatewayResponse {
        switch error {
        case GatewayProxy.Failure.noNodeAvailable:
            return GatewayResponse(PBError(.serviceUnavailable, "No node is available to serve the request."))
        default:
            return GatewayResponse(PBError(.badGateway, "The node serving the request failed."))
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ value: some Encodable) -> GatewayResponse {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return GatewayResponse(status: .ok, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: .buffer(ByteBuffer(bytes: data)))
    }
}

/// Counters of answered requests by status class (Prometheus `stoa_gateway_responses_total`).
final class GatewayCounters: Sendable {
    let classes: [Metrics.Counter] = (1...5).map { Metrics.Counter(label: "stoa_gateway_responses_total", dimensions: [("class", "\($0)xx")]) }

    func count(status: Int) {
        let index = status / 100 - 1
        if classes.indices.contains(index) { classes[index].increment() }
    }
}
