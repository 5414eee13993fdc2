import NIOCore
import NIOPosix
import StoaGossip
import Synchronization

/// SWIM over UDP, shared by every driver of a live ``SWIMInstance`` (``ClusterNode`` and the
/// gateway): binds the datagram socket, opens and decodes sealed datagrams, and sends sealed
/// envelopes (fire and forget, as UDP is), caching resolved addresses.
///
/// Every datagram is sealed with the cluster key (``FrameSealer``); one that fails
/// authentication or decoding, or is longer than `maxDatagramBytes`, is handed to `onReject`,
/// never to the owner. A rejected datagram costs one tag check (and a decode when the tag
/// verifies), no more: the owner SHOULD count rejections without waiting on anything.
public final class SWIMDatagramLink: Sendable {
    public typealias Channel = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

    /// Why an inbound datagram was dropped.
    public enum Rejection: Sendable { case authentication, malformed, oversized }

    let sealer: FrameSealer
    /// Longest datagram accepted; reads are sized one byte larger, so a longer one (which the
    /// read truncates) is told apart and dropped unopened.
    let maxDatagramBytes: Int
    private let writer = Mutex<NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>?>(nil)
    private let resolved = Mutex<[MemberAddress: SocketAddress]>([:])

    public init(sealer: FrameSealer, maxDatagramBytes: Int = ClusterConfiguration.defaultMaxDatagramBytes) {
        self.sealer = sealer
        self.maxDatagramBytes = maxDatagramBytes
    }

    /// Binds UDP on `host:port` (port 0: the OS picks one; read it from the channel), reading
    /// datagrams of up to `maxDatagramBytes` + 1 bytes (the link's own bound).
    public static func bind(
        host: String, port: Int, maxDatagramBytes: Int = ClusterConfiguration.defaultMaxDatagramBytes, group: any EventLoopGroup
    ) async throws -> Channel {
        try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: maxDatagramBytes + 1))
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Channel(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Reads datagrams until the channel closes, handing each authenticated SWIM envelope to
    /// `onEnvelope` in arrival order.
    public func serve(
        _ channel: Channel,
        onEnvelope: @Sendable (SWIMEnvelope) async -> Void,
        onReject: @Sendable (Rejection) async -> Void
    ) async throws {
        try await channel.executeThenClose { inbound, outbound in
            writer.withLock { $0 = outbound }
            defer { writer.withLock { $0 = nil } }
            for try await datagram in inbound {
                guard datagram.data.readableBytes <= maxDatagramBytes else {
                    await onReject(.oversized)
                    continue
                }
                guard let payload = sealer.open(Array(datagram.data.readableBytesView)) else {
                    await onReject(.authentication)
                    continue
                }
                guard case .swim(let envelope)? = try? WireCodec.decode(payload) else {
                    await onReject(.malformed)
                    continue
                }
                await onEnvelope(envelope)
            }
        }
    }

    /// Sends one SWIM envelope as a sealed datagram; dropped silently while not serving or
    /// when the address does not resolve (SWIM tolerates loss).
    public func send(_ envelope: SWIMEnvelope, to address: MemberAddress) {
        guard let writer = writer.withLock({ $0 }) else { return }
        let target: SocketAddress
        if let known = resolved.withLock({ $0[address] }) {
            target = known
        } else {
            guard let made = try? SocketAddress.makeAddressResolvingHost(address.host, port: address.port) else { return }
            resolved.withLock { $0[address] = made }
            target = made
        }
        let bytes = sealer.seal(WireCodec.encode(.swim(envelope)))
        Task { try? await writer.write(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: bytes))) }
    }
}
