import NIOCore
import NIOExtras
import NIOPosix
import StoaGossip

extension ClusterNode {
    /// Stream connections as the accept loop gets them: nil for one refused at once.
    typealias StreamServer = NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, Never>?, Never>
    typealias DatagramChannel = SWIMDatagramLink.Channel

    /// Binds the TCP stream server, then UDP on the same port (port 0: the OS picks the TCP port).
    ///
    /// Every accepted connection is admitted by ``StreamConnectionRegistry`` (or closed at once)
    /// and held to ``StreamLimits`` by a ``GossipStreamHandler``; a failed accept (out of file
    /// descriptors) pauses accepting for a second (``AcceptErrorBackoff``) instead of spinning.
    func bind() async throws -> (StreamServer, DatagramChannel) {
        let maxFrame = configuration.maxFrameBytes
        let limits = configuration.streamLimits
        let registry = streamRegistry
        let budget = frameBudget
        let counters = transportCounters
        limits.exportGauges(maxFrameBytes: maxFrame)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorBackoff(counter: counters.acceptErrors))
                }
            }
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.gossipHost, port: configuration.gossipPort) { channel in
                channel.eventLoop.makeCompletedFuture { () -> NIOAsyncChannel<ByteBuffer, Never>? in
                    guard let id = registry.admit(channel, address: StreamConnectionRegistry.addressKey(channel.remoteAddress)) else {
                        try channel.pipeline.syncOperations.addHandler(RefusedConnectionHandler())
                        return nil
                    }
                    channel.closeFuture.whenComplete { _ in registry.closed(id) }
                    try channel.pipeline.syncOperations.addHandler(
                        GossipStreamHandler(id: id, registry: registry, budget: budget, limits: limits, maxFrameBytes: maxFrame) { frame in
                            self.classifyFirstFrame(frame)
                        }
                    )
                    return try NIOAsyncChannel<ByteBuffer, Never>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2))
                    )
                }
            }
        guard let port = server.channel.localAddress?.port else { throw ClusterError.noLocalAddress }
        let datagrams = try await SWIMDatagramLink.bind(
            host: configuration.gossipHost, port: port, maxDatagramBytes: configuration.maxDatagramBytes, group: group
        )
        gossipPort = port
        return (server, datagrams)
    }

    /// Serves stream connections, one task each. Frames are authenticated and decoded in the
    /// connection's own task, so junk never occupies the actor that answers probes; a frame
    /// that fails authentication closes its connection.
    nonisolated func serveStreams(_ server: StreamServer) async throws {
        try await server.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in connections {
                    guard let connection else { continue }
                    group.addTask {
                        try? await connection.executeThenClose { frames, _ in
                            for try await frame in frames {
                                switch self.open(Array(frame.readableBytesView)) {
                                case .success(let message):
                                    await self.received(message: message)
                                case .failure(.authentication):
                                    self.transportCounters.reject(.authentication)
                                    return
                                case .failure(let reason):
                                    self.transportCounters.reject(reason)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    nonisolated func serveDatagrams(_ channel: DatagramChannel) async throws {
        let counters = transportCounters
        try await datagramLink.serve(channel) { envelope in
            await self.received(envelope: envelope)
        } onReject: { rejection in
            switch rejection {
            case .authentication: counters.reject(.authentication)
            case .malformed: counters.reject(.malformed)
            case .oversized: counters.reject(.oversizedDatagram)
            }
        }
    }

    /// The message in a sealed frame; `.authentication` when its tag does not verify,
    /// `.malformed` when it authenticates but does not decode.
    nonisolated func open(_ frame: [UInt8]) -> Result<WireMessage, TransportCounters.Reason> {
        guard let payload = sealer.open(frame) else { return .failure(.authentication) }
        guard let message = try? WireCodec.decode(payload) else { return .failure(.malformed) }
        return .success(message)
    }

    /// What the first frame of a stream connection is (checked on its event loop: at most
    /// ``StreamLimits/maxUnauthenticatedFrameBytes`` long).
    nonisolated func classifyFirstFrame(_ frame: ByteBuffer) -> GossipStreamHandler.FirstFrame {
        switch open(Array(frame.readableBytesView)) {
        case .success(.hello): return .hello
        case .success, .failure(.malformed): return .message
        case .failure: return .unauthenticated
        }
    }

    /// Sends one message on the stream to `peer`, connecting first when needed.
    @discardableResult
    func send(_ message: WireMessage, to peer: String) async -> Bool {
        await send(encoded: WireCodec.encode(message), to: peer, droppable: false)
    }

    /// Seals and sends encoded bytes. A failed send closes that connection (not one another
    /// task opened meanwhile) and returns false; a droppable message is not queued behind a
    /// peer that is not reading. Anti-entropy repairs whatever did not arrive.
    func send(encoded: [UInt8], to peer: String, droppable: Bool) async -> Bool {
        guard let id = memberIDs[peer] else { return false }
        let bytes = sealer.seal(encoded)
        var channel: (any Channel)?
        do {
            let link = try await link(to: id)
            channel = link
            if droppable, !link.isWritable {
                counters.droppedPushes += 1
                return false
            }
            try await link.writeAndFlush(ByteBuffer(bytes: bytes))
            return true
        } catch {
            counters.sendFailures += 1
            if let channel, let current = links[peer], current === channel {
                links.removeValue(forKey: peer)
                channel.close(promise: nil)
            }
            logger.debug("send to \(peer) failed: \(error)")
            return false
        }
    }

    /// The open link to a peer, or a new one. A new link starts with a sealed hello (before
    /// any other frame: the receiver accepts larger frames only once it authenticated), and
    /// closes itself when nothing was sent on it for half the idle timeout, before the receiver
    /// would close it (the next send connects again).
    private func link(to id: MemberID) async throws -> any Channel {
        if let existing = links[id.name], existing.isActive { return existing }
        let idle = TimeAmount.nanoseconds(configuration.streamLimits.idleTimeout.nanoseconds / 2)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(1))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(writeTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(IdleLinkCloser())
                }
            }
            .connect(host: id.host, port: id.port)
            .get()
        // Another task may have connected meanwhile: keep one link per peer.
        if let existing = links[id.name], existing.isActive {
            channel.close(promise: nil)
            return existing
        }
        channel.write(ByteBuffer(bytes: sealer.seal(WireCodec.encode(.hello(from: database.nodeName)))), promise: nil)
        links[id.name] = channel
        return channel
    }
}

/// On an outbound gossip link: closes it when its `IdleStateHandler` reports that nothing was
/// written for the write timeout.
final class IdleLinkCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .write? = event as? IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

enum ClusterError: Error {
    case noLocalAddress
}
