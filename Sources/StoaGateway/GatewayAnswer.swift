import NIOCore

/// What the gateway answers a request with: a response decided at once on the request's event
/// loop (a cache hit, a rejection), written without a future, or one that comes later.
enum GatewayAnswer {
    case now(GatewayResponse)
    case later(EventLoopFuture<GatewayResponse>)

    /// The answer as a future on `loop`.
    func future(on loop: any EventLoop) -> EventLoopFuture<GatewayResponse> {
        switch self {
        case .now(let response): loop.makeSucceededFuture(response)
        case .later(let future): future
        }
    }
}
