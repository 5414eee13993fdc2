import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// One request on its way through ``GatewayProxy``: the node it holds, the nodes it tried, its
/// wait for a connection, its exchange with a node and what is done with the outcome. The one
/// object a request's attempts share, handed from the proxy to the ``UpstreamConnectionPool``
/// (while it waits for a connection) to the ``UpstreamExchangeHandler`` (while the node answers),
/// instead of a closure made at each step. Its attempts run on the event loop of `upstream`;
/// every method but ``start()`` must be called there.
///
/// Contract: ``completed(_:)`` is called exactly once, with the node's answer or a
/// ``GatewayProxy/Failure``, on `loop` (the caller's); every lease taken from the ``NodePool``
/// is released before it. The base class hands the outcome to the closure it was made with;
/// the gateway's answer to a client (``GatewayProxiedCall``) overrides ``completed(_:)``, so a
/// request's proxying, retries and answer are one object.
class ProxyCall: @unchecked Sendable {
    let proxy: GatewayProxy
    private(set) final var request: ForwardedRequest
    let preferring: String?
    /// The caller's loop, where ``completed(_:)`` runs.
    let loop: any EventLoop
    /// The connections of `loop` (or of the group's first loop when `loop` is not in the group).
    let upstream: UpstreamConnectionPool
    private let complete: ((Result<ProxiedResponse, any Error>) -> Void)?
    private var tried: Set<String> = []
    private var lastError: String?
    /// The node of the attempt in progress.
    private(set) final var lease = NodePool.Lease(name: "", url: "", startedAt: 0)
    /// The attempt in progress goes over a new connection, not a kept one.
    private(set) final var fresh = false

    // The exchange in progress with ``lease``'s node, kept by its ``UpstreamExchangeHandler``.
    /// The connection carried an exchange before this one.
    final var reused = false
    /// When the attempt fails as timed out: its whole answer (a streamed one: its head) must have
    /// come by then; nil once a streamed answer's head arrived.
    final var deadline: NIODeadline?
    final var head: HTTPResponseHead?
    final var body: ByteBuffer?
    final var stream: UpstreamStream?

    /// A call whose outcome goes to `complete`, on `loop`.
    init(proxy: GatewayProxy, request: ForwardedRequest, preferring: String?, loop: any EventLoop,
         complete: ((Result<ProxiedResponse, any Error>) -> Void)? = nil) {
        self.proxy = proxy
        self.request = request
        self.preferring = preferring
        self.loop = loop
        self.upstream = proxy.connections.pool(for: loop)
        self.complete = complete
    }

    /// What is done with the outcome, once, on `loop`: here, the closure the call was made with.
    func completed(_ result: Result<ProxiedResponse, any Error>) {
        complete?(result)
    }

    /// Sends the request (from any thread).
    final func start() {
        if upstream.eventLoop.inEventLoop { return attempt() }
        upstream.eventLoop.execute { self.attempt() }
    }

    /// Hands the outcome to ``completed(_:)`` on `loop`.
    private final func deliver(_ result: Result<ProxiedResponse, any Error>) {
        if loop === upstream.eventLoop || loop.inEventLoop { return completed(result) }
        loop.execute { self.completed(result) }
    }

    /// The request's headers, taken out of the call (so that editing them copies nothing); the
    /// call has none until ``keepHeaders(_:)``.
    final func takeHeaders() -> HTTPHeaders {
        let headers = request.headers
        request.headers = HTTPHeaders()
        return headers
    }

    /// Gives the call its headers back (as sent, for another attempt).
    final func keepHeaders(_ headers: HTTPHeaders) {
        request.headers = headers
    }

    /// Largest answer body buffered (a streamed answer is not buffered).
    final var maxBytes: Int { request.streaming ? .max : proxy.maxResponseBytes }

    /// Takes a node not tried yet and sends the request to it; completes with the last failure
    /// (or ``GatewayProxy/Failure/noNodeAvailable``) when none is left.
    private final func attempt() {
        guard let lease = proxy.pool.acquire(excluding: tried, only: request.node, preferring: preferring, now: GatewayProxy.now()) else {
            return deliver(.failure(lastError.map { GatewayProxy.Failure.upstreamFailed($0) } ?? GatewayProxy.Failure.noNodeAvailable))
        }
        self.lease = lease
        fresh = false
        send()
    }

    private final func send() {
        deadline = .now() + proxy.timeout
        head = nil
        body = nil
        stream = nil
        upstream.exchange(self)
    }

    /// The attempt in progress ended: with the node's answer, or with why there is none (from
    /// the connection pool or the exchange handler). Releases the lease; retries on another node
    /// when the failure allows it (see ``GatewayProxy``).
    final func finished(_ result: Result<ProxiedResponse, any Error>) {
        let pool = proxy.pool
        switch result {
        case .success(let response):
            pool.release(lease, outcome: .answered, now: GatewayProxy.now())
            deliver(.success(response))
        case .failure(UpstreamFailure.closedBeforeAnswer(reused: true)) where request.idempotent && !fresh:
            // The node closed a kept connection as the request went out: not its failure.
            fresh = true
            send()
        case .failure(UpstreamFailure.tooLarge):
            // The node answered; the gateway will not buffer that much.
            pool.release(lease, outcome: .answered, now: GatewayProxy.now())
            deliver(.failure(GatewayProxy.Failure.upstreamFailed("\(lease.name): answer larger than \(proxy.maxResponseBytes) bytes")))
        case .failure(let error):
            pool.release(lease, outcome: .connectionFailed, now: GatewayProxy.now())
            let description = "\(lease.name): \(error)"
            Metrics.Counter(label: "stoa_gateway_upstream_failures_total", dimensions: [("node", lease.name)]).increment()
            proxy.logger.warning("node \(lease.name) failed (\(error)); ejected")
            guard request.idempotent || GatewayProxy.neverSent(error) else {
                return deliver(.failure(GatewayProxy.Failure.upstreamFailed(description)))
            }
            Metrics.Counter(label: "stoa_gateway_retries_total").increment()
            tried.insert(lease.name)
            lastError = description
            attempt()
        }
    }
}
