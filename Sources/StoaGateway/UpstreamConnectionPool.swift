import NIOCore
import NIOHTTP1
import NIOPosix

/// Keep-alive HTTP/1.1 connections from one event loop to the nodes: a request from a client
/// connection on that loop goes to a node, and its answer comes back, without a thread hop.
/// Lives on its loop: ``exchange(_:)`` must be called on it.
///
/// Per node, an idle connection is reused (most recently used first); a new one is opened when
/// none is idle, up to `maxConnectionsPerNode`; beyond that requests wait (until their deadline)
/// for a connection to come free. At most `maxIdlePerNode` idle connections are kept. A
/// connection that carried a stream is closed after it rather than kept.
///
/// A kept connection the node closed just as a request went out on it fails with
/// ``UpstreamFailure/closedBeforeAnswer(reused:)`` (reused: true): ``GatewayProxy`` then sends an
/// idempotent request once more, `fresh`, to the same node.
final class UpstreamConnectionPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    let connectTimeout: TimeAmount
    let maxIdlePerNode: Int
    let maxConnectionsPerNode: Int

    /// One node's connections: a class, so a request and each connection find it once and
    /// change it in place. Used only on the pool's loop, as the pool is.
    private final class Node: @unchecked Sendable {
        let address: UpstreamAddress
        var idle: [UpstreamExchangeHandler] = []
        /// Open or opening connections, idle or busy.
        var open = 0
        /// Requests waiting for a connection, each until its deadline.
        var waiting: CircularBuffer<ProxyCall> = []

        init(address: UpstreamAddress) { self.address = address }
    }

    /// Every node's connections, by address.
    private var nodes: [UpstreamAddress: Node] = [:]
    /// The same, by the URL a lease names (URLs spelling one address share its connections).
    private var byURL: [String: Node] = [:]

    init(eventLoop: any EventLoop, connectTimeout: TimeAmount, maxIdlePerNode: Int, maxConnectionsPerNode: Int) {
        self.eventLoop = eventLoop
        self.connectTimeout = connectTimeout
        self.maxIdlePerNode = maxIdlePerNode
        self.maxConnectionsPerNode = max(1, maxConnectionsPerNode)
    }

    /// Sends `call`'s request to the node of its lease and tells `call` once, on the loop, how
    /// it ended (``ProxyCall/finished(_:)``, from here or from the ``UpstreamExchangeHandler``),
    /// over a kept connection when one is idle unless the call is `fresh`. Fails with the
    /// connection's error when no connection could be made (``GatewayProxy/neverSent(_:)`` tells
    /// those apart), with ``UpstreamFailure/timedOut`` when no connection came free before the
    /// call's deadline.
    func exchange(_ call: ProxyCall) {
        eventLoop.assertInEventLoop()
        let url = call.lease.url
        let node: Node
        if let known = byURL[url] {
            node = known
        } else {
            guard let address = UpstreamAddress(url: url) else {
                return call.finished(.failure(UpstreamFailure.unusableURL(url)))
            }
            if byURL.count >= 256 { byURL = [:] }
            node = nodes[address] ?? Node(address: address)
            nodes[address] = node
            byURL[url] = node
        }
        if call.fresh {
            connect(node, for: call)
        } else {
            withConnection(to: node, for: call)
        }
    }

    /// Sends `call` over a connection to `node`, now or once one comes free.
    private func withConnection(to node: Node, for call: ProxyCall) {
        while let handler = node.idle.popLast() {
            if handler.isUsable { return handler.send(call, host: node.address.hostHeader) }
            handler.channel?.close(promise: nil)
        }
        if node.open < maxConnectionsPerNode {
            return connect(node, for: call)
        }
        node.waiting.append(call)
    }

    /// Opens a connection to `node` (counted against its limit until it closes) and sends `call`
    /// over it.
    private func connect(_ node: Node, for call: ProxyCall) {
        node.open += 1
        let address = node.address
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                // A handler per attempt: connecting to a host name may try several addresses.
                channel.eventLoop.makeCompletedFuture {
                    // No outbound header validation: a forwarded request's fields are the
                    // client's, which the gateway's server parsed strictly (llhttp refuses a
                    // control character in a name or value: a 400 before anything is
                    // forwarded), and the gateway's own (the node's address, numbers, the
                    // client's address and the configured scheme). Checking each again cost a
                    // proxied request about 1 µs.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(UpstreamExchangeHandler())
                }
            }
            .connect(host: address.host, port: address.port)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamExchangeHandler.self) else {
                        channel.close(promise: nil)
                        return call.finished(.failure(UpstreamFailure.closed))
                    }
                    handler.onIdle = { [weak self] handler in self?.giveBack(handler, to: node) }
                    channel.closeFuture.whenComplete { [weak self] _ in self?.closed(handler, to: node) }
                    handler.send(call, host: address.hostHeader)
                case .failure(let error):
                    closed(nil, to: node)
                    call.finished(.failure(error))
                }
            }
    }

    /// A connection finished an exchange and can carry another: to the first waiting request, or idle.
    private func giveBack(_ handler: UpstreamExchangeHandler, to node: Node) {
        eventLoop.assertInEventLoop()
        while let waiter = node.waiting.popFirst() {
            if Self.expired(waiter) {
                waiter.finished(.failure(UpstreamFailure.timedOut))
                continue
            }
            return handler.send(waiter, host: node.address.hostHeader)
        }
        if node.idle.count < maxIdlePerNode {
            node.idle.append(handler)
        } else {
            handler.channel?.close(promise: nil)
        }
    }

    /// A connection closed (or could not be opened): it leaves the idle list and its place goes
    /// to the first waiting request.
    private func closed(_ handler: UpstreamExchangeHandler?, to node: Node) {
        eventLoop.assertInEventLoop()
        node.open -= 1
        if let handler { node.idle.removeAll { $0 === handler } }
        var next: ProxyCall?
        while let waiter = node.waiting.popFirst() {
            if Self.expired(waiter) { waiter.finished(.failure(UpstreamFailure.timedOut)) } else { next = waiter; break }
        }
        if let next { connect(node, for: next) }
    }

    /// True when a waiting call's deadline passed.
    private static func expired(_ call: ProxyCall) -> Bool {
        call.deadline.map { $0 < .now() } ?? false
    }

    /// Closes every idle connection.
    func closeIdle() {
        eventLoop.assertInEventLoop()
        for node in nodes.values { for handler in node.idle { handler.channel?.close(promise: nil) } }
    }
}

/// One ``UpstreamConnectionPool`` per event loop of a group.
public final class UpstreamConnections: Sendable {
    private let byLoop: [ObjectIdentifier: UpstreamConnectionPool]
    private let first: UpstreamConnectionPool

    /// - Parameters:
    ///   - group: the loops to keep connections on: the gateway server's group (a request from a
    ///     loop outside it is sent from the group's first loop and its answer hopped back, which
    ///     streamed answers do not support).
    ///   - connectTimeout: longest wait for a node to accept a connection.
    ///   - maxIdlePerNode: idle connections kept per node and loop.
    ///   - maxConnectionsPerNode: connections per node and loop; more requests wait for one.
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, connectTimeout: TimeAmount = .seconds(1),
                maxIdlePerNode: Int = 64, maxConnectionsPerNode: Int = 256) {
        let pools = group.makeIterator().map {
            UpstreamConnectionPool(eventLoop: $0, connectTimeout: connectTimeout, maxIdlePerNode: maxIdlePerNode, maxConnectionsPerNode: maxConnectionsPerNode)
        }
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
