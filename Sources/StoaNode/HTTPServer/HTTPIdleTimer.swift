import NIOCore
import NIOHTTP1

/// Closes an HTTP connection that stayed idle for `timeout`: nothing of a request read and no
/// answer ended since, while none of its requests is being answered. A request read whole whose
/// answer is still being written (a slow handler, a realtime stream) keeps the connection open
/// however long it takes; its end starts the idle time again. A half-sent request is not being
/// answered: a client that stops sending in the middle of one is idle.
///
/// Placed right after NIO's HTTP decoder (it sees decoded parts, not bytes: a head that never
/// completes is bounded by ``RequestHeadDeadline``).
///
/// Loop-bound: used only on its channel's event loop.
package final class HTTPIdleTimer: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPServerRequestPart
    package typealias InboundOut = HTTPServerRequestPart
    package typealias OutboundIn = HTTPServerResponsePart
    package typealias OutboundOut = HTTPServerResponsePart

    let timeout: TimeAmount
    private let onExpiry: @Sendable () -> Void
    private var lastActivity = NIODeadline.now()
    /// Requests whose head was read and whose answer has not ended.
    private var inFlight = 0
    /// The head of a request was read and its end not yet.
    private var readingRequest = false
    private var timer: Scheduled<Void>?

    /// - Parameter onExpiry: called when the timer closes the connection (to count it).
    package init(timeout: TimeAmount, onExpiry: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.onExpiry = onExpiry
    }

    /// A request is read whole and being answered.
    private var answering: Bool { inFlight > 0 && !readingRequest }

    package func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    package func channelActive(context: ChannelHandlerContext) {
        lastActivity = .now()
        arm(context)
        context.fireChannelActive()
    }

    package func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        switch unwrapInboundIn(data) {
        case .head:
            inFlight += 1
            readingRequest = true
        case .body: break
        case .end: readingRequest = false
        }
        context.fireChannelRead(data)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight = max(0, inFlight - 1)
            lastActivity = .now()
            arm(context)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastActivity + timeout) { [self] in
            timer = nil
            // Being answered: the answer's end arms the timer again.
            guard !answering else { return }
            if NIODeadline.now() >= lastActivity + timeout {
                onExpiry()
                context.close(promise: nil)
            } else {
                arm(context)
            }
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }
}
