import NIOCore
import NIOPosix
import StoaGossip
import Synchronization

/// SWIM over UDP, shared by every driver of a live ``SWIMInstance`` (``ClusterNode`` and the
/// gateway): binds the datagram socket, opens and decodes sealed datagrams, and sends sealed
/// envelopes (fire and forget, as UDP is), caching resolved addresses.
///
/// Every datagram is sealed (``FrameSealer``, channel `.datagram`) for the member it is sent to:
/// the link learns members' names from the envelopes it opens (senders, probe targets,
/// piggybacked claims) and seals for `*` only an address whose member it has not heard of yet
/// (a join seed). One that fails authentication, is a replay, fails decoding, or is longer than
/// `maxDatagramBytes`, is handed to `onReject`, never to the owner. A rejected datagram costs
/// one AEAD open (and a decode when it opens), no more: the owner SHOULD count rejections
/// without waiting on anything.
public final class SWIMDatagramLink: Sendable {
    public typealias Channel = NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>

    /// Why an inbound datagram was dropped.
    public enum Rejection: Sendable { case authentication, replay, malformed, oversized }

    let sealer: FrameSealer
    /// This process's member name: datagrams are opened as sealed for it (or for `*`).
    let myName: String
    /// Longest datagram accepted; reads are sized one byte larger, so a longer one (which the
    /// read truncates) is told apart and dropped unopened.
    let maxDatagramBytes: Int
    private let writer = Mutex<NIOAsyncChannelOutboundWriter<AddressedEnvelope<ByteBuffer>>?>(nil)
    private let resolved = Mutex<[MemberAddress: SocketAddress]>([:])
    /// The member name last heard of at each gossip address.
    private let names = Mutex<[MemberAddress: String]>([:])

    public init(sealer: FrameSealer, myName: String, maxDatagramBytes: Int = ClusterConfiguration.defaultMaxDatagramBytes) {
        self.sealer = sealer
        self.myName = myName
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
    /// With `onMessage`, an authenticated message other than SWIM (a gateway's rate-limit
    /// report) goes there; without it such a message is rejected as malformed.
    public func serve(
        _ channel: Channel,
        onEnvelope: @Sendable (SWIMEnvelope) async -> Void,
        onMessage: (@Sendable (WireMessage) async -> Void)? = nil,
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
                let payload: [UInt8]
                switch sealer.open(Array(datagram.data.readableBytesView), as: myName, on: .datagram) {
                case .success(let opened): payload = opened
                case .failure(.authentication):
                    await onReject(.authentication)
                    continue
                case .failure(.replay):
                    await onReject(.replay)
                    continue
                }
                switch try? WireCodec.decode(payload) {
                case .swim(let envelope)?:
                    learnNames(envelope)
                    await onEnvelope(envelope)
                case let message? where onMessage != nil:
                    await onMessage?(message)
                default:
                    await onReject(.malformed)
                }
            }
        }
    }

    /// Serves `first` as ``serve(_:onEnvelope:onReject:)`` does, and whenever its socket closes
    /// while the task is not cancelled, binds `host:port` again and goes on: NIO closes a datagram
    /// channel on a failed send other than ECONNREFUSED/ENOMEM (EPERM from a local firewall that
    /// refuses one peer, for one), which would otherwise cut this process off from every member.
    /// `onReopen` hears each reopening (with the bind error while the port cannot be bound;
    /// binding is retried every `retry`). Returns when the task is cancelled.
    public func serveReopening(
        _ first: Channel, host: String, port: Int, group: any EventLoopGroup, retry: Duration = .milliseconds(200),
        onEnvelope: @Sendable (SWIMEnvelope) async -> Void,
        onMessage: (@Sendable (WireMessage) async -> Void)? = nil,
        onReject: @Sendable (Rejection) async -> Void,
        onReopen: @Sendable ((any Error)?) async -> Void
    ) async throws {
        var channel: Channel? = first
        while !Task.isCancelled {
            if let open = channel {
                try? await serve(open, onEnvelope: onEnvelope, onMessage: onMessage, onReject: onReject)
                channel = nil
                guard !Task.isCancelled else { return }
            }
            do {
                channel = try await Self.bind(host: host, port: port, maxDatagramBytes: maxDatagramBytes, group: group)
                await onReopen(nil)
            } catch {
                await onReopen(error)
                try await Task.sleep(for: retry)
            }
        }
    }

    /// Sends one SWIM envelope as a sealed datagram; dropped silently while not serving or
    /// when the address does not resolve (SWIM tolerates loss).
    public func send(_ envelope: SWIMEnvelope, to address: MemberAddress) {
        send(message: .swim(envelope), to: address)
    }

    /// Sends any message as a sealed datagram (at most `maxDatagramBytes` once sealed: the
    /// caller splits), as ``send(_:to:)`` does.
    public func send(message: WireMessage, to address: MemberAddress) {
        guard let writer = writer.withLock({ $0 }) else { return }
        let target: SocketAddress
        if let known = resolved.withLock({ $0[address] }) {
            target = known
        } else {
            guard let made = try? SocketAddress.makeAddressResolvingHost(address.host, port: address.port) else { return }
            resolved.withLock { $0[address] = made }
            target = made
        }
        let destination = names.withLock { $0[address] }
        let bytes = sealer.seal(WireCodec.encode(message), to: destination, on: .datagram)
        Task { try? await writer.write(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: bytes))) }
    }

    /// Remembers the name of every member an authenticated envelope identifies: the sender's
    /// own claim replaces what was known of its address; targets and piggybacked claims (which
    /// may describe an earlier member at that address) only fill in unknown addresses.
    private func learnNames(_ envelope: SWIMEnvelope) {
        var others = envelope.message.gossip.map(\.id)
        switch envelope.message {
        case .pingRequest(_, let target, _), .ack(_, let target, _), .nack(_, let target, _): others.append(target)
        case .ping: break
        }
        names.withLock { names in
            names[envelope.from.address] = envelope.from.name
            for id in others where id.name != myName && names[id.address] == nil { names[id.address] = id.name }
        }
    }
}
