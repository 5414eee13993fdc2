import Metrics
import NIOCore

/// On a listening channel: when an accept fails (an `IOError`: EMFILE/ENFILE when file
/// descriptors run out, ENOBUFS, ENOMEM), counts it and stops accepting for `pause` (autoRead
/// off, then on again), so the listener does not spin a core while descriptors are exhausted.
/// Connections that arrive meanwhile wait in the kernel's backlog.
///
/// NIO's `AcceptBackoffHandler` does not cover this case: when the first accept of a read fails,
/// the channel keeps its read pending, so no new `read()` passes through the backoff handler and
/// the level-triggered selector reports the socket readable again at once (measured: 14,000
/// failed `accept4` calls in 3 s, a whole core).
///
/// It MUST come first in the listening channel's pipeline: it does not pass such errors on,
/// so an async server channel's accept sequence does not end with them.
///
/// Used by the gateway's server, a node's HTTP server and its gossip port.
package final class AcceptErrorBackoff: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = any Channel

    let pause: TimeAmount
    let counter: Counter
    private var paused = false

    package init(pause: TimeAmount = .seconds(1), counter: Counter) {
        self.pause = pause
        self.counter = counter
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is IOError else { return context.fireErrorCaught(error) }
        counter.increment()
        guard !paused else { return }
        paused = true
        let channel = context.channel
        try? channel.syncOptions?.setOption(.autoRead, value: false)
        context.eventLoop.assumeIsolated().scheduleTask(in: pause) {
            self.paused = false
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}
