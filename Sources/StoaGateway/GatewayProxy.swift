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
public struct GatewayProxy: Sendable {
    public let pool: NodePool
    public let client: HTTPClient
    /// Longest wait for one node's complete answer.
    public var timeout: TimeAmount
    /// Largest response body buffered.
    public var maxResponseBytes: Int
    let logger: Logger

    public init(pool: NodePool, client: HTTPClient, timeout: TimeAmount = .seconds(30), maxResponseBytes: Int = 64 << 20, logger: Logger) {
        self.pool = pool
        self.client = client
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
    /// once) when allowed. Throws ``Failure`` when no node answered.
    public func forward(_ request: ForwardedRequest, preferring: String? = nil) async throws -> ProxiedResponse {
        var tried: Set<String> = []
        var lastError = "no node available"
        while true {
            guard let lease = pool.acquire(excluding: tried, only: request.node, preferring: preferring, now: Self.now()) else {
                if tried.isEmpty { throw Failure.noNodeAvailable }
                throw Failure.upstreamFailed(lastError)
            }
            tried.insert(lease.name)
            do {
                let response = try await attempt(request, on: lease)
                pool.release(lease, outcome: .answered, now: Self.now())
                return response
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

    private func attempt(_ request: ForwardedRequest, on lease: NodePool.Lease) async throws -> ProxiedResponse {
        var upstream = HTTPClientRequest(url: lease.url + request.target)
        upstream.method = request.method
        upstream.headers = request.headers
        if let body = request.body { upstream.body = .bytes(body) }
        let response = try await client.execute(upstream, timeout: request.streaming ? .hours(24) : timeout)
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(response.headers.count)
        for header in response.headers where !ForwardedRequest.hopByHop.contains(header.name.lowercased()) {
            headers.append((header.name, header.value))
        }
        if request.streaming {
            return ProxiedResponse(status: response.status, headers: headers, body: .stream(response.body), node: lease.name)
        }
        let body = try await response.body.collect(upTo: maxResponseBytes)
        return ProxiedResponse(status: response.status, headers: headers, body: .buffer(body), node: lease.name)
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
