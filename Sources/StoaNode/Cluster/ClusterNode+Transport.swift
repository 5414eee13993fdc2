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
                        GossipStreamHandler(id: id, registry: registry, budget: budget, limits: limits, maxFrameBytes: maxFrame) { frame, first in
                            self.openFrame(frame, first: first)
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

    /// Serves stream connections, one task each. Frames were opened on their event loop
    /// (``openFrame(_:first:)``: a frame that does not open closed its connection), so junk never
    /// occupies the actor that answers probes; here payloads are decoded and applied.
    nonisolated func serveStreams(_ server: StreamServer) async throws {
        try await server.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in connections {
                    guard let connection else { continue }
                    group.addTask {
                        try? await connection.executeThenClose { payloads, _ in
                            for try await payload in payloads {
                                if let message = try? WireCodec.decode(Array(payload.readableBytesView)) {
                                    await self.received(message: message)
                                } else {
                                    self.transportCounters.reject(.malformed)
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
            case .replay: counters.reject(.replay)
            case .malformed: counters.reject(.malformed)
            case .oversized: counters.reject(.oversizedDatagram)
            }
        }
    }

    /// Opens one sealed stream frame for this node (on its connection's event loop); a
    /// connection's `first` frame is told apart when it is a hello.
    nonisolated func openFrame(_ frame: ByteBuffer, first: Bool) -> GossipStreamHandler.Opened {
        switch sealer.open(Array(frame.readableBytesView), as: myName, on: .stream) {
        case .failure(.authentication): return .refused(.authentication)
        case .failure(.replay): return .refused(.replay)
        case .success(let payload):
            if first, case .hello? = try? WireCodec.decode(payload) { return .hello }
            return .payload(ByteBuffer(bytes: payload))
        }
    }

    /// Sends one message on the stream to `peer`, connecting first when needed.
    @discardableResult
    func send(_ message: WireMessage, to peer: String) async -> Bool {
        await send(encoded: WireCodec.encode(message), to: peer, droppable: false)
    }

    /// Sends encoded bytes (sealed on the link's event loop by its ``FrameSealingHandler``, so
    /// counters follow the order frames go out). A failed send closes that connection (not one another
    /// task opened meanwhile) and returns false; a droppable message is not queued behind a
    /// peer that is not reading. Anti-entropy repairs whatever did not arrive.
    func send(encoded: [UInt8], to peer: String, droppable: Bool) async -> Bool {
        guard let id = memberIDs[peer] else { return false }
        var channel: (any Channel)?
        do {
            let link = try await link(to: id)
            channel = link
            if droppable, !link.isWritable {
                counters.droppedPushes += 1
                return false
            }
            try await link.writeAndFlush(ByteBuffer(bytes: encoded))
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

    /// The open link to a peer, or a new one. Every frame written on it is sealed for that peer
    /// by a ``FrameSealingHandler``. A new link starts with a hello (before
    /// any other frame: the receiver accepts larger frames only once it authenticated), and
    /// closes itself when nothing was sent on it for half the idle timeout, before the receiver
    /// would close it (the next send connects again).
    private func link(to id: MemberID) async throws -> any Channel {
        if let existing = links[id.name], existing.isActive { return existing }
        let idle = TimeAmount.nanoseconds(configuration.streamLimits.idleTimeout.nanoseconds / 2)
        let sealer = sealer
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(1))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(writeTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(IdleLinkCloser())
                    // Last, so it sees writes first: frames are sealed, then length-prefixed.
                    try channel.pipeline.syncOperations.addHandler(FrameSealingHandler(sealer: sealer, destination: id.name))
                }
            }
            .connect(host: id.host, port: id.port)
            .get()
        // Another task may have connected meanwhile: keep one link per peer.
        if let existing = links[id.name], existing.isActive {
            channel.close(promise: nil)
            return existing
        }
        channel.write(ByteBuffer(bytes: WireCodec.encode(.hello(from: database.nodeName))), promise: nil)
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
