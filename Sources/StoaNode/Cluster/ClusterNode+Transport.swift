import NIOCore
import NIOExtras
import NIOPosix
import StoaGossip

extension ClusterNode {
    typealias StreamServer = NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, Never>, Never>
    typealias DatagramChannel = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

    /// Binds the TCP stream server, then UDP on the same port (port 0: the OS picks the TCP port).
    func bind() async throws -> (StreamServer, DatagramChannel) {
        let maxFrame = configuration.maxFrameBytes
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.gossipHost, port: configuration.gossipPort) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(BoundedFrameDecoder(maxFrameBytes: maxFrame)))
                    return try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel)
                }
            }
        guard let port = server.channel.localAddress?.port else { throw ClusterError.noLocalAddress }
        let datagrams = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: configuration.gossipHost, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try DatagramChannel(wrappingChannelSynchronously: channel)
                }
            }
        gossipPort = port
        return (server, datagrams)
    }

    func serveStreams(_ server: StreamServer) async throws {
        try await server.executeThenClose { connections in
            try await withThrowingDiscardingTaskGroup { group in
                for try await connection in connections {
                    group.addTask {
                        try? await connection.executeThenClose { frames, _ in
                            for try await frame in frames {
                                await self.received(frame: Array(frame.readableBytesView))
                            }
                        }
                    }
                }
            }
        }
    }

    func serveDatagrams(_ channel: DatagramChannel) async throws {
        try await channel.executeThenClose { inbound, outbound in
            setDatagramWriter(outbound)
            for try await datagram in inbound {
                received(datagram: Array(datagram.data.readableBytesView))
            }
        }
    }

    private func setDatagramWriter(_ writer: NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>) {
        datagramWriter = writer
    }

    /// Sends one SWIM message as a sealed datagram (fire and forget, as UDP is).
    func sendDatagram(_ message: WireMessage, to address: MemberAddress) {
        guard let writer = datagramWriter else { return }
        let target: SocketAddress
        if let known = resolved[address] {
            target = known
        } else {
            guard let made = try? SocketAddress.makeAddressResolvingHost(address.host, port: address.port) else { return }
            resolved[address] = made
            target = made
        }
        let bytes = sealer.seal(WireCodec.encode(message))
        Task { try? await writer.write(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: bytes))) }
    }

    /// Sends one message on the stream to `peer`, connecting first when needed. A failed send
    /// drops the connection; anti-entropy repairs whatever did not arrive.
    func send(_ message: WireMessage, to peer: String) async {
        guard let id = memberIDs[peer] else { return }
        let bytes = sealer.seal(WireCodec.encode(message))
        do {
            let channel = try await link(to: id)
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        } catch {
            counters.sendFailures += 1
            if let link = links.removeValue(forKey: peer) { link.close(promise: nil) }
            logger.debug("send to \(peer) failed: \(error)")
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

enum ClusterError: Error {
    case noLocalAddress
}
