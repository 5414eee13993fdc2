import AsyncHTTPClient
import Dispatch
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix

/// Forwards requests to the data nodes over keep-alive pools (AsyncHTTPClient), choosing a node
/// with the ``NodePool``. A node that cannot be reached or cuts the connection is ejected at
/// once; an idempotent request is then sent to another node, a non-idempotent one only when it
/// never left the gateway (the connection was never made).
///
/// A request given the event loop of the client's connection goes to the node through that
/// loop's client (``UpstreamClients``), so with NIO's loops as the concurrency executor
/// (``runConcurrencyOnEventLoops()``) a proxied request never changes thread. A buffered request
/// uses AsyncHTTPClient's delegate API (its async API costs an extra task and actor per
/// request); streamed requests (`/api/realtime`) use the async API.
public struct GatewayProxy: Sendable {
    public let pool: NodePool
    public let clients: UpstreamClients
    /// Longest wait for one node's complete answer.
    public var timeout: TimeAmount
    /// Largest response body buffered.
    public var maxResponseBytes: Int
    let logger: Logger

    public init(pool: NodePool, clients: UpstreamClients, timeout: TimeAmount = .seconds(30), maxResponseBytes: Int = 64 << 20, logger: Logger) {
        self.pool = pool
        self.clients = clients
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.logger = logger
    }

    public enum Failure: Error, Sendable {
        /// No node is routable (every node dead or ejected).
        case noNodeAvailable
        /// The chosen node(s) failed and the request may not (or no longer) be retried.
        case upstreamFailed(String)
        /// The request cannot be sent to a node as it is (e.g. its target makes no URL).
        case badRequest(String)
    }

    /// AsyncHTTPClient's errors about the request itself rather than the node it went to.
    static let requestErrors: Set<String> = Set([
        HTTPClientError.invalidURL, .emptyHost, .emptyScheme, .unsupportedScheme(""), .invalidHeaderFieldNames([]),
        .invalidHeaderFieldValues([]), .identityCodingIncorrectlyPresent, .chunkedSpecifiedMultipleTimes,
        .traceRequestWithBody, .incompatibleHeaders, .bodyLengthMismatch,
    ].map(\.shortDescription))

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Sends `request` to a node; on a connection failure retries on other nodes (each at most
    /// once) when allowed. Throws ``Failure`` when no node answered. `eventLoop` (the client
    /// connection's) chooses the upstream client (see ``UpstreamClients/client(for:)``).
    public func forward(_ request: ForwardedRequest, preferring: String? = nil, on eventLoop: (any EventLoop)? = nil) async throws -> ProxiedResponse {
        var tried: Set<String> = []
        var lastError = "no node available"
        while true {
            guard let lease = pool.acquire(excluding: tried, only: request.node, preferring: preferring, now: Self.now()) else {
                if tried.isEmpty { throw Failure.noNodeAvailable }
                throw Failure.upstreamFailed(lastError)
            }
            tried.insert(lease.name)
            do {
                let client = clients.client(for: eventLoop)
                let response = try await request.streaming ? stream(request, on: lease, client: client) : attempt(request, on: lease, client: client)
                pool.release(lease, outcome: .answered, now: Self.now())
                return response
            } catch let error as HTTPClientError where Self.requestErrors.contains(error.shortDescription) {
                // A target or header the client sent that cannot be sent on: no node is at fault.
                pool.release(lease, outcome: .notSent, now: Self.now())
                throw Failure.badRequest(error.shortDescription)
            } catch {
                pool.release(lease, outcome: .connectionFailed, now: Self.now())
                lastError = "\(lease.name): \(error)"
                Metrics.Counter(label: "stoa_gateway_upstream_failures_total", dimensions: [("node", lease.name)]).increment()
                logger.warning("node \(lease.name) failed (\(error)); ejected")
                guard request.idempotent || Self.neverSent(error) else { throw Failure.upstreamFailed(lastError) }
                Metrics.Counter(label: "stoa_gateway_retries_total").increment()
            }
        }
    }

    /// One buffered exchange with one node: the whole answer, at most `maxResponseBytes`.
    private func attempt(_ request: ForwardedRequest, on lease: NodePool.Lease, client: HTTPClient) async throws -> ProxiedResponse {
        let upstream = try HTTPClient.Request(
            url: lease.url + request.target, method: request.method, headers: request.headers, body: request.body.map { .byteBuffer($0) }
        )
        let task = client.execute(
            request: upstream, delegate: ResponseAccumulator(request: upstream, maxBodySize: maxResponseBytes),
            eventLoop: .indifferent, deadline: .now() + timeout, logger: nil
        )
        let response = try await withTaskCancellationHandler {
            try await task.futureResult.get()
        } onCancel: {
            task.cancel()
        }
        return ProxiedResponse(status: response.status, headers: Self.endToEnd(response.headers), body: .buffer(response.body ?? ByteBuffer()), node: lease.name)
    }

    /// One streamed exchange (server-sent events): the answer's body is passed on as it arrives.
    private func stream(_ request: ForwardedRequest, on lease: NodePool.Lease, client: HTTPClient) async throws -> ProxiedResponse {
        var upstream = HTTPClientRequest(url: lease.url + request.target)
        upstream.method = request.method
        upstream.headers = request.headers
        if let body = request.body { upstream.body = .bytes(body) }
        let response = try await client.execute(upstream, timeout: .hours(24))
        return ProxiedResponse(status: response.status, headers: Self.endToEnd(response.headers), body: .stream(response.body), node: lease.name)
    }

    /// A node's answer headers without the hop-by-hop ones.
    static func endToEnd(_ headers: HTTPHeaders) -> [(name: String, value: String)] {
        var kept: [(name: String, value: String)] = []
        kept.reserveCapacity(headers.count)
        for header in headers where !ForwardedRequest.isHopByHop(header.name) {
            kept.append((header.name, header.value))
        }
        return kept
    }

    /// True when the error shows the request never reached the node (no connection was made),
    /// so even a non-idempotent request may go to another node.
    static func neverSent(_ error: any Error) -> Bool {
        if error is NIOConnectionError { return true }
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return true }
        return false
    }
}

#if canImport(Glibc)
import Glibc
#endif
