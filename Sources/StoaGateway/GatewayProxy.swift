import Dispatch
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix

/// Forwards requests to the data nodes over keep-alive connections, choosing a node with the
/// ``NodePool``. A node that cannot be reached, cuts the connection or does not answer in time
/// is ejected at once; an idempotent request is then sent to another node, a non-idempotent one
/// only when it never left the gateway (the connection was never made).
///
/// A request is sent from the event loop of the client's connection over that loop's
/// connections (``UpstreamConnections``): it is read, forwarded and answered on one thread.
public struct GatewayProxy: Sendable {
    public let pool: NodePool
    public let connections: UpstreamConnections
    /// Longest wait for one node's complete answer (a streamed one: its head).
    public var timeout: TimeAmount
    /// Largest response body buffered.
    public var maxResponseBytes: Int
    let logger: Logger

    public init(pool: NodePool, connections: UpstreamConnections, timeout: TimeAmount = .seconds(30), maxResponseBytes: Int = 64 << 20, logger: Logger) {
        self.pool = pool
        self.connections = connections
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.logger = logger
    }

    public enum Failure: Error, Sendable {
        /// No node is routable (every node dead or ejected).
        case noNodeAvailable
        /// The chosen node(s) failed and the request may not (or no longer) be retried.
        case upstreamFailed(String)
        /// The request cannot be sent to a node as it is (e.g. a control character in a header).
        case badRequest(String)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Sends `request` to a node; on a connection failure retries on other nodes (each at most
    /// once) when allowed. Fails with ``Failure`` when no node answered. The future completes on
    /// `eventLoop` (the client connection's), whose connections carry the request.
    public func send(_ request: ForwardedRequest, preferring: String? = nil, on eventLoop: any EventLoop) -> EventLoopFuture<ProxiedResponse> {
        let promise = eventLoop.makePromise(of: ProxiedResponse.self)
        send(request, preferring: preferring, on: eventLoop) { promise.completeWith($0) }
        return promise.futureResult
    }

    /// ``send(_:preferring:on:)`` without a future: `complete` is called once, on `eventLoop`.
    func send(_ request: ForwardedRequest, preferring: String? = nil, on eventLoop: any EventLoop,
              complete: @escaping @Sendable (Result<ProxiedResponse, any Error>) -> Void) {
        let upstream = connections.pool(for: eventLoop)
        guard upstream.eventLoop.inEventLoop else {
            return upstream.eventLoop.execute {
                send(request, preferring: preferring, on: upstream.eventLoop) { result in eventLoop.execute { complete(result) } }
            }
        }
        attempt(request, preferring: preferring, tried: [], lastError: nil, upstream: upstream, complete: complete)
    }

    /// ``send(_:preferring:on:)`` for async callers; `eventLoop` defaults to one of NIO's loops.
    public func forward(_ request: ForwardedRequest, preferring: String? = nil, on eventLoop: (any EventLoop)? = nil) async throws -> ProxiedResponse {
        try await send(request, preferring: preferring, on: eventLoop ?? MultiThreadedEventLoopGroup.singleton.any()).get()
    }

    private func attempt(_ request: ForwardedRequest, preferring: String?, tried: Set<String>, lastError: String?,
                         upstream: UpstreamConnectionPool, complete: @escaping @Sendable (Result<ProxiedResponse, any Error>) -> Void) {
        guard let lease = pool.acquire(excluding: tried, only: request.node, preferring: preferring, now: Self.now()) else {
            return complete(.failure(lastError.map { Failure.upstreamFailed($0) } ?? Failure.noNodeAvailable))
        }
        exchange(request, on: lease, fresh: false, preferring: preferring, tried: tried, upstream: upstream, complete: complete)
    }

    private func exchange(_ request: ForwardedRequest, on lease: NodePool.Lease, fresh: Bool, preferring: String?, tried: Set<String>,
                          upstream: UpstreamConnectionPool, complete: @escaping @Sendable (Result<ProxiedResponse, any Error>) -> Void) {
        let maxBytes = request.streaming ? Int.max : maxResponseBytes
        upstream.exchange(request, url: lease.url, node: lease.name, deadline: .now() + timeout, maxBytes: maxBytes, fresh: fresh) { result in
            switch result {
            case .success(let response):
                pool.release(lease, outcome: .answered, now: Self.now())
                complete(.success(response))
            case .failure(UpstreamFailure.closedBeforeAnswer(reused: true)) where request.idempotent && !fresh:
                // The node closed a kept connection as the request went out: not its failure.
                exchange(request, on: lease, fresh: true, preferring: preferring, tried: tried, upstream: upstream, complete: complete)
            case .failure(UpstreamFailure.invalidRequest):
                // A header the client sent that cannot be sent on: no node is at fault.
                pool.release(lease, outcome: .notSent, now: Self.now())
                complete(.failure(Failure.badRequest("the request has a header that cannot be forwarded")))
            case .failure(UpstreamFailure.tooLarge):
                // The node answered; the gateway will not buffer that much.
                pool.release(lease, outcome: .answered, now: Self.now())
                complete(.failure(Failure.upstreamFailed("\(lease.name): answer larger than \(maxResponseBytes) bytes")))
            case .failure(let error):
                pool.release(lease, outcome: .connectionFailed, now: Self.now())
                let description = "\(lease.name): \(error)"
                Metrics.Counter(label: "stoa_gateway_upstream_failures_total", dimensions: [("node", lease.name)]).increment()
                logger.warning("node \(lease.name) failed (\(error)); ejected")
                guard request.idempotent || Self.neverSent(error) else { return complete(.failure(Failure.upstreamFailed(description))) }
                Metrics.Counter(label: "stoa_gateway_retries_total").increment()
                attempt(request, preferring: preferring, tried: tried.union([lease.name]), lastError: description, upstream: upstream, complete: complete)
            }
        }
    }

    /// True when the error shows the request never reached the node (no connection was made),
    /// so even a non-idempotent request may go to another node.
    static func neverSent(_ error: any Error) -> Bool {
        if error is NIOConnectionError { return true }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return true }
        if case UpstreamFailure.unusableURL = error { return true }
        return false
    }
}

#if canImport(Glibc)
import Glibc
#endif
