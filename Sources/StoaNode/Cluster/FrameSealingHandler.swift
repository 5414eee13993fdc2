import NIOCore

/// On an outbound gossip link: seals every frame written (``FrameSealer``, channel `.stream`)
/// for the peer at the other end, on the link's event loop. Sealing where the bytes go out, in
/// write order, keeps the session counters of one link strictly increasing as sent.
final class FrameSealingHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let sealer: FrameSealer
    private let destination: String

    init(sealer: FrameSealer, destination: String) {
        self.sealer = sealer
        self.destination = destination
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let payload = unwrapOutboundIn(data)
        let sealed = sealer.seal(Array(payload.readableBytesView), to: destination, on: .stream)
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: sealed)), promise: promise)
    }
}
