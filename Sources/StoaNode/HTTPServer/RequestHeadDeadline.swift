import NIOCore
import NIOHTTP1

/// The slowloris guard of the gateway's server and a node's: a request's head (request line and headers)
/// must be complete within `timeout` of its first byte, else the connection closes.
///
/// Two handlers share one deadline: ``ByteWatcher``, placed before NIO's HTTP decoder, sees bytes
/// arrive; ``PartWatcher``, right after the decoder, sees the head come out, the request end and
/// its answer end. The common request, whose head arrives in one read, arms no timer.
///
/// The gateway uses the ``ByteWatcher`` alone: its connection handler, which answers requests
/// one at a time itself, calls ``headDecoded()``, ``requestDecoded()`` and ``answerEnded()``
/// (one handler fewer, and one cast of each request part fewer). A request it holds back while
/// the previous one is answered is then noted when it is let through, in the same call that
/// ends the previous answer (after ``answerEnded()``), so its head's deadline, re-armed while an
/// answer is pending, cannot close the connection meanwhile.
///
/// Contract:
/// - The deadline starts with the first byte read while no request is being read, and ends when
///   the decoder produces that request's head.
/// - While an earlier request of the connection is still being answered, or the client has not
///   read its answers (``clientBehind``), the server reads nothing more, so a deadline expiring
///   then starts again instead of closing.
/// - Bytes of a next head that arrived together with the end of a request start no deadline
///   (they cannot be told from the body); the idle timeout bounds such a connection.
///
/// Loop-bound: used only on its channel's event loop.
package final class RequestHeadDeadline: @unchecked Sendable {
    private enum State {
        /// No request is being read: the next byte starts a head.
        case idle
        /// A head began at `since` and is not complete yet.
        case head(since: NIODeadline)
        /// The head came; the body, if any, is being read.
        case body
    }

    let timeout: TimeAmount
    private let onExpiry: @Sendable () -> Void
    private var state = State.idle
    private var timer: Scheduled<Void>?
    /// Requests read whole whose answers have not ended yet.
    private var answering = 0
    /// When the connection last read bytes (or was set up).
    package private(set) var lastRead = NIODeadline.now()
    /// The client has not read what was written to it (the channel is not writable): a head
    /// the server holds back meanwhile is not read late by the client's fault, so its deadline
    /// starts again instead of closing (the idle timeout bounds a client that reads nothing).
    package var clientBehind = false

    /// - Parameter onExpiry: called when a deadline closes the connection (to count it).
    package init(timeout: TimeAmount, onExpiry: @escaping @Sendable () -> Void) {
        self.timeout = timeout
        self.onExpiry = onExpiry
    }

    /// The two handlers to place around the HTTP decoder.
    package func makeHandlers() -> (ByteWatcher, PartWatcher) { (ByteWatcher(self), PartWatcher(self)) }

    /// The handler to place before the HTTP decoder when the handler that reads the requests
    /// and writes the answers calls ``headDecoded()``, ``requestDecoded()`` and
    /// ``answerEnded()`` itself.
    package func makeByteWatcher() -> ByteWatcher { ByteWatcher(self) }

    fileprivate func bytesArriving() {
        let now = NIODeadline.now()
        lastRead = now
        if case .idle = state { state = .head(since: now) }
    }

    /// After the decoder took the bytes of one read: a head still incomplete gets its timer.
    fileprivate func bytesDecoded(_ channel: any Channel) {
        guard case .head(let since) = state, timer == nil else { return }
        arm(channel, at: since + timeout)
    }

    private func arm(_ channel: any Channel, at deadline: NIODeadline) {
        timer = channel.eventLoop.scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard case .head = state else { return }
            if answering > 0 || clientBehind {
                arm(channel, at: .now() + timeout)
            } else {
                onExpiry()
                channel.close(promise: nil)
            }
        }
    }

    /// A request's head was decoded: its deadline is over.
    package func headDecoded() {
        state = .body
        cancel()
    }

    /// A request was read whole: the next byte starts a head, and its answer is pending.
    package func requestDecoded() {
        state = .idle
        answering += 1
    }

    /// An answer's end was written (``PartWatcher`` calls it; without it, the handler writing
    /// the answers does).
    package func answerEnded() {
        answering = max(0, answering - 1)
    }

    fileprivate func cancel() {
        timer?.cancel()
        timer = nil
    }

    /// Placed before the HTTP decoder (after TLS): notes when a head's first byte arrives.
    package final class ByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
        package typealias InboundIn = ByteBuffer
        package typealias InboundOut = ByteBuffer
        private let deadline: RequestHeadDeadline

        fileprivate init(_ deadline: RequestHeadDeadline) { self.deadline = deadline }

        package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            deadline.bytesArriving()
            context.fireChannelRead(data)
            deadline.bytesDecoded(context.channel)
        }

        package func channelInactive(context: ChannelHandlerContext) {
            deadline.cancel()
            context.fireChannelInactive()
        }

        package func handlerRemoved(context: ChannelHandlerContext) { deadline.cancel() }
    }

    /// Placed right after the HTTP decoder (before the pipelining handler): notes heads and
    /// request ends as decoded, and answer ends as written.
    package final class PartWatcher: ChannelInboundHandler, ChannelOutboundHandler, RemovableChannelHandler {
        package typealias InboundIn = HTTPServerRequestPart
        package typealias InboundOut = HTTPServerRequestPart
        package typealias OutboundIn = HTTPServerResponsePart
        package typealias OutboundOut = HTTPServerResponsePart
        private let deadline: RequestHeadDeadline

        fileprivate init(_ deadline: RequestHeadDeadline) { self.deadline = deadline }

        package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: deadline.headDecoded()
            case .end: deadline.requestDecoded()
            case .body: break
            }
            context.fireChannelRead(data)
        }

        package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data) { deadline.answerEnded() }
            context.write(data, promise: promise)
        }
    }
}
