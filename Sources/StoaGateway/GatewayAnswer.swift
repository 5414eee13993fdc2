import NIOCore

/// What the gateway answers a request with: a response decided at once on the request's event
/// loop (a cache hit, a rejection), written without a future; one that comes later as a future;
/// or one a proxied request delivers later without a future (`.proxied`: started with the
/// target that writes the answer, which it tells once, on the request's loop).
enum GatewayAnswer {
    case now(GatewayResponse)
    case later(EventLoopFuture<GatewayResponse>)
    case proxied(GatewayProxiedCall)

    /// The answer as a future on `loop`.
    func future(on loop: any EventLoop) -> EventLoopFuture<GatewayResponse> {
        switch self {
        case .now(let response): return loop.makeSucceededFuture(response)
        case .later(let future): return future
        case .proxied(let call):
            let promise = loop.makePromise(of: GatewayResponse.self)
            call.start(answeringTo: GatewayPromiseTarget(promise))
            return promise.futureResult
        }
    }
}
