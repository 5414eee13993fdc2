import NIOCore
import NIOHTTP1
import NIOPosix

/// Keep-alive HTTP/1.1 connections from one event loop to the nodes: a request from a client
/// connection on that loop goes to a node, and its answer comes back, without a thread hop.
/// Lives on its loop: ``exchange(_:address:node:deadline:maxBytes:)`` must be called on it.
///
/// An idle connection is reused (most recently used first); a new one is opened when none is
/// idle; at most `maxIdlePerNode` idle connections per node are kept, the others closed.
final class UpstreamConnectionPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    let connectTimeout: TimeAmount
    let maxIdlePerNode: Int
    private var idle: [UpstreamAddress: [UpstreamExchangeHandler]] = [:]
    private var addresses: [String: UpstreamAddress] = [:]

    init(eventLoop: any EventLoop, connectTimeout: TimeAmount, maxIdlePerNode: Int) {
        self.eventLoop = eventLoop
        self.connectTimeout = connectTimeout
        self.maxIdlePerNode = maxIdlePerNode
    }

    /// Sends `request` to the node at `url` and answers its response (see
    /// ``UpstreamExchangeHandler``). Fails with the connection's error when no connection could be
    /// made (``GatewayProxy/neverSent(_:)`` tells those apart).
    func exchange(_ request: ForwardedRequest, url: String, node: String, deadline: NIODeadline, maxBytes: Int) -> EventLoopFuture<ProxiedResponse> {
        eventLoop.assertInEventLoop()
        guard let address = addresses[url] ?? UpstreamAddress(url: url) else {
            return eventLoop.makeFailedFuture(UpstreamFailure.unusableURL(url))
        }
        if addresses.count > 256 { addresses = [:] }
        addresses[url] = address
        let promise = eventLoop.makePromise(of: ProxiedResponse.self)
        let host = address.hostHeader
        if let handler = takeIdle(address) {
            handler.send(request, host: host, node: node, deadline: deadline, maxBytes: maxBytes, promise: promise)
            return promise.futureResult
        }
        let handler = UpstreamExchangeHandler()
        handler.onIdle = { [weak self] handler in self?.giveBack(handler, to: address) }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { result in
                switch result {
                case .success: handler.send(request, host: host, node: node, deadline: deadline, maxBytes: maxBytes, promise: promise)
                case .failure(let error): promise.fail(error)
                }
            }
        return promise.futureResult
    }

    /// Idle connections kept, over all nodes.
    var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }

    private func takeIdle(_ address: UpstreamAddress) -> UpstreamExchangeHandler? {
        while let handler = idle[address]?.popLast() {
            if handler.isUsable { return handler }
            handler.channel?.close(promise: nil)
        }
        return nil
    }

    private func giveBack(_ handler: UpstreamExchangeHandler, to address: UpstreamAddress) {
        eventLoop.assertInEventLoop()
        if idle[address, default: []].count < maxIdlePerNode {
            idle[address, default: []].append(handler)
        } else {
            handler.channel?.close(promise: nil)
        }
    }

    /// Closes every idle connection.
    func closeIdle() {
        eventLoop.assertInEventLoop()
        for handlers in idle.values { for handler in handlers { handler.channel?.close(promise: nil) } }
        idle = [:]
    }
}

/// One ``UpstreamConnectionPool`` per event loop of a group.
public final class UpstreamConnections: Sendable {
    private let byLoop: [ObjectIdentifier: UpstreamConnectionPool]
    private let first: UpstreamConnectionPool

    /// - Parameters:
    ///   - group: the loops to keep connections on (the gateway server's).
    ///   - connectTimeout: longest wait for a node to accept a connection.
    ///   - maxIdlePerNode: idle connections kept per node and loop.
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, connectTimeout: TimeAmount = .seconds(1), maxIdlePerNode: Int = 64) {
        let pools = group.makeIterator().map { UpstreamConnectionPool(eventLoop: $0, connectTimeout: connectTimeout, maxIdlePerNode: maxIdlePerNode) }
        byLoop = Dictionary(uniqueKeysWithValues: pools.map { (ObjectIdentifier($0.eventLoop), $0) })
        first = pools[0]
    }

    /// The pool of `eventLoop`, or of the group's first loop when `eventLoop` is not in the group.
    func pool(for eventLoop: any EventLoop) -> UpstreamConnectionPool {
        byLoop[ObjectIdentifier(eventLoop)] ?? first
    }

    /// Closes the idle connections of every loop.
    public func closeIdle() async {
        for pool in byLoop.values {
            try? await pool.eventLoop.submit { pool.closeIdle() }.get()
        }
    }
}
