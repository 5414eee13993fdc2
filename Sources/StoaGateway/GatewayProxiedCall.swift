import NIOCore
import StoaGossip

/// Where an answer that comes later is written: the client connection's handler.
protocol GatewayAnswerTarget: AnyObject, Sendable {
    /// Called once, on the request's event loop, with the answer.
    func answered(_ response: GatewayResponse)
}

/// A client's request proxied to a node by the ``GatewayResponder``: the ``ProxyCall`` (the node
/// lease, the retries) and what the gateway does with the node's answer before the client gets
/// it, in one object per request: the writer's affinity to the node that took a write, the
/// cache entries a write drops (here, and at the other gateways through ``GatewayCacheSync``
/// before the answer goes out), `X-Cache-Status: BYPASS` on a read the cache did not serve, the
/// rate limiter's headers and the count of the answer's status.
final class GatewayProxiedCall: ProxyCall, @unchecked Sendable {
    let route: RequestRoute
    /// The verified user (nil: a guest) and the key of its writer affinity.
    let user: String?
    let writer: String
    let limitHeaders: [(name: String, value: String)]
    let affinity: WriterAffinity
    let cache: GatewayCache?
    /// What a write tells the other gateways (nil without peers or for a read).
    let invalidation: CacheInvalidation?
    let sync: GatewayCacheSync?
    let counters: GatewayCounters
    private var target: (any GatewayAnswerTarget)?

    init(proxy: GatewayProxy, request: ForwardedRequest, preferring: String?, loop: any EventLoop, route: RequestRoute, user: String?,
         writer: String, limitHeaders: [(name: String, value: String)], affinity: WriterAffinity, cache: GatewayCache?,
         invalidation: CacheInvalidation?, sync: GatewayCacheSync?, counters: GatewayCounters) {
        self.route = route
        self.user = user
        self.writer = writer
        self.limitHeaders = limitHeaders
        self.affinity = affinity
        self.cache = cache
        self.invalidation = invalidation
        self.sync = sync
        self.counters = counters
        super.init(proxy: proxy, request: request, preferring: preferring, loop: loop)
    }

    /// Sends the request; its answer goes to `target`, once, on the request's loop.
    func start(answeringTo target: any GatewayAnswerTarget) {
        self.target = target
        start()
    }

    override func completed(_ result: Result<ProxiedResponse, any Error>) {
        var response: GatewayResponse
        var node = ""
        switch result {
        case .success(let answer):
            if route.isWrite { affinity.wrote(user: writer, on: answer.node, now: GatewayResponder.now()) }
            // A write invalidates the writer's cached views of what it touched before the client
            // hears back, so its next read never comes from before its write.
            if let cache { GatewayResponder.invalidate(cache, after: route, by: user) }
            response = GatewayResponse(answer)
            if cache != nil, request.method.isGET { response.headers.replaceOrAdd(name: "X-Cache-Status", value: "BYPASS") }
            node = answer.node
        case .failure(let error):
            // A write may have been applied before the node failed.
            if let cache { GatewayResponder.invalidate(cache, after: route, by: user) }
            response = GatewayResponder.unavailable(error)
        }
        response = GatewayResponder.finished(response, limitHeaders: limitHeaders, counters: counters)
        guard let target else { return }
        self.target = nil
        guard let sync, var invalidation else { return target.answered(response) }
        // With other gateways, a write is answered once they have dropped what they cached of it.
        invalidation.node = node
        loop.makeFutureWithTask { [invalidation, response] in
            await sync.announce([invalidation])
            return response
        }.whenSuccess { target.answered($0) }
    }
}

/// Completes a promise with the answer (for callers that want a future).
final class GatewayPromiseTarget: GatewayAnswerTarget, Sendable {
    let promise: EventLoopPromise<GatewayResponse>

    init(_ promise: EventLoopPromise<GatewayResponse>) { self.promise = promise }

    func answered(_ response: GatewayResponse) { promise.succeed(response) }
}
