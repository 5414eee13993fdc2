import NIOCore

/// What the gateway answers a request with: a response decided at once on the request's event
/// loop (a cache hit, a rejection), written without a future; one that comes later as a future;
/// or one a proxied request delivers later without a future (`.deferred`: called once with the
/// function that writes the answer, which is then called once, on the request's loop).
enum GatewayAnswer {
    case now(GatewayResponse)
    case later(EventLoopFuture<GatewayResponse>)
    case deferred(@Sendable (_ reply: @escaping @Sendable (GatewayResponse) -> Void) -> Void)

    /// The answer as a future on `loop`.
    func future(on loop: any EventLoop) -> EventLoopFuture<GatewayResponse> {
        switch self {
        case .now(let response): return loop.makeSucceededFuture(response)
        case .later(let future): return future
        case .deferred(let start):
            let promise = loop.makePromise(of: GatewayResponse.self)
            start { promise.succeed($0) }
            return promise.futureResult
        }
    }
}
