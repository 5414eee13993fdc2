import NIOCore
import NIOExtras
import NIOPosix
import StoaGossip
import Synchronization

extension ClusterNode {
    typealias StreamServer = NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, Never>, Never>
    typealias DatagramChannel = SWIMDatagramLink.Channel

    /// Binds the TCP stream server, then UDP on the same port (port 0: the OS picks the TCP port).
    func bind() async throws -> (StreamServer, DatagramChannel) {
        let maxFrame = configuration.maxFrameBytes
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.gossipHost, port: configuration.gossipPort) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(BoundedFrameDecoder(maxFrameBytes: maxFrame), maximumBufferSize: maxFrame + 4)
                    )
                    return try NIOAsyncChannel<ByteBuffer, Never>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2))
                    )
                }
            }
        guard let port = server.channel.localAddress?.port else { throw ClusterError.noLocalAddress }
        let datagrams = try await SWIMDatagramLink.bind(host: configuration.gossipHost, port: port, group: group)
        gossipPort = port
        return (server, datagrams)
    }

    /// Most inbound stream connections served at once (a cluster needs one per peer).
    static let maxConnections = 64

    /// Serves stream connections. Frames are authenticated and decoded in the connection's own
    /// task, so junk never occupies the actor that answers probes.
    nonisolated func serveStreams(_ server: StreamServer) async throws {
        let active = ConnectionCount()
        try await server.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in connections {
                    let admitted = active.value.withLock { count in
                        guard count < Self.maxConnections else { return false }
                        count += 1
                        return true
                    }
                    guard admitted else {
                        await reject(.connectionLimit)
                        try? await connection.channel.close()
                        continue
                    }
                    group.addTask {
                        defer { active.value.withLock { $0 -= 1 } }
                        do {
                            try await connection.executeThenClose { frames, _ in
                                for try await frame in frames {
                                    guard let message = self.authenticate(Array(frame.readableBytesView)) else {
                                        await self.reject(.authentication)
                                        continue
                                    }
                                    await self.received(message: message)
                                }
                            }
                        } catch is BoundedFrameDecoder.FrameTooLarge {
                            await self.reject(.oversized)
                        } catch {}
                    }
                }
            }
        }
    }

    nonisolated func serveDatagrams(_ channel: DatagramChannel) async throws {
        try await datagramLink.serve(channel) { envelope in
            await self.received(envelope: envelope)
        } onReject: { rejection in
            switch rejection {
            case .authentication: await self.reject(.authentication)
            case .malformed: await self.reject(.malformed)
            }
        }
    }

    /// The message in a sealed frame, or nil when it fails authentication; a frame that
    /// authenticates but does not decode is counted as malformed by the caller's next step.
    nonisolated func authenticate(_ frame: [UInt8]) -> WireMessage? {
        guard let payload = sealer.open(frame) else { return nil }
        return try? WireCodec.decode(payload)
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

    private func link(to id: MemberID) async throws -> any Channel {
        if let existing = links[id.name], existing.isActive { return existing }
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(1))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LengthFieldPrepender(lengthFieldBitLength: .fourBytes))
                }
            }
            .connect(host: id.host, port: id.port)
            .get()
        // Another task may have connected meanwhile: keep one link per peer.
        if let existing = links[id.name], existing.isActive {
            channel.close(promise: nil)
            return existing
        }
        links[id.name] = channel
        return channel
    }
}

/// Open inbound stream connections, shared by the accept loop and the connection tasks.
final class ConnectionCount: Sendable {
    let value = Mutex(0)
}

enum ClusterError: Error {
    case noLocalAddress
}
