import Dispatch
import Logging
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
        ProxyCall(proxy: self, request: request, preferring: preferring, loop: eventLoop, complete: complete).start()
    }

    /// ``send(_:preferring:on:)`` for async callers; `eventLoop` defaults to one of NIO's loops.
    public func forward(_ request: ForwardedRequest, preferring: String? = nil, on eventLoop: (any EventLoop)? = nil) async throws -> ProxiedResponse {
        try await send(request, preferring: preferring, on: eventLoop ?? MultiThreadedEventLoopGroup.singleton.any()).get()
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
