import NIOCore

/// The inbound side of one gossip stream connection, first in its pipeline: splits the bytes
/// into frames (``FrameSplitter``), authenticates the first frame on the event loop, keeps the
/// connection's deadlines (``StreamGuard``) and its share of the incomplete-frame budget
/// (``FrameByteBudget``), and hands the frames of an authenticated connection on. When a bound
/// is passed it closes the connection and counts why (``TransportCounters``).
///
/// It watches reads requested through it to tell when the node is not reading the connection
/// (the consumer after it withholds reads while busy with earlier frames): a deadline that
/// expires then waits until reading resumes (``StreamGuard/pause()``).
///
/// Loop-bound: used only on its channel's event loop.
final class GossipStreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What a connection's first frame is.
    enum FirstFrame: Sendable {
        /// A hello sealed with the cluster key: the connection is authenticated, the frame is done.
        case hello
        /// Another message sealed with the cluster key (a sender from before hellos): the
        /// connection is authenticated and the frame is handed on.
        case message
        /// Not sealed with the cluster key.
        case unauthenticated
    }

    private let id: StreamAdmission.ID
    private let registry: StreamConnectionRegistry
    private let budget: FrameByteBudget
    private let classify: @Sendable (ByteBuffer) -> FirstFrame
    private var counters: TransportCounters { registry.counters }
    private var splitter = FrameSplitter()
    private var deadlines: StreamGuard
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Bytes of ``budget`` this connection holds.
    private var reserved = 0
    /// A read was requested and has not completed: the node wants this connection's bytes.
    private var reading = false
    private var closing = false

    init(
        id: StreamAdmission.ID, registry: StreamConnectionRegistry, budget: FrameByteBudget, limits: StreamLimits, maxFrameBytes: Int,
        acceptedAt now: NIODeadline = .now(), classify: @escaping @Sendable (ByteBuffer) -> FirstFrame
    ) {
        self.id = id
        self.registry = registry
        self.budget = budget
        self.classify = classify
        deadlines = StreamGuard(limits: limits, maxFrameBytes: maxFrameBytes, acceptedAt: now)
    }

    // MARK: - Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        schedule(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    // MARK: - Reading

    func read(context: ChannelHandlerContext) {
        reading = true
        if deadlines.isPaused {
            deadlines.resume(now: .now())
            schedule(context)
        }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        reading = false
        splitter.append(unwrapInboundIn(data))
        let now = NIODeadline.now()
        var completed = 0
        do {
            while let frame = try splitter.next(maxFrameBytes: deadlines.maxFrameBytes) {
                completed += 1
                guard deadlines.phase == .unauthenticated else {
                    context.fireChannelRead(wrapInboundOut(frame))
                    continue
                }
                let kind = classify(frame)
                if case .unauthenticated = kind { return close(context, counting: .authentication) }
                // Evicted while its first frame was on the way: the eviction was counted.
                guard registry.authenticate(id) else { return close(context, counting: nil) }
                deadlines.authenticated(now: now)
                if case .message = kind { context.fireChannelRead(wrapInboundOut(frame)) }
            }
        } catch {
            return close(context, counting: deadlines.phase == .unauthenticated ? .oversizedUnauthenticated : .oversized)
        }
        deadlines.received(now: now, completedFrames: completed, incompleteBytes: splitter.bufferedBytes)
        guard hold(splitter.bufferedBytes) else { return close(context, counting: .frameBudget) }
        schedule(context)
    }

    // MARK: - Deadlines

    /// Makes sure a timer runs no later than the next deadline (a later one is found when it fires).
    private func schedule(_ context: ChannelHandlerContext) {
        guard !closing, let next = deadlines.nextDeadline else { return }
        if let timerDeadline, timerDeadline <= next.at { return }
        timer?.cancel()
        timerDeadline = next.at
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: next.at) { [self] in
            timer = nil
            timerDeadline = nil
            deadlineReached(context)
        }
    }

    private func deadlineReached(_ context: ChannelHandlerContext) {
        guard !closing else { return }
        if !reading {
            // The node is not reading: the peer cannot send; wait until reading resumes.
            deadlines.pause()
            if deadlines.isPaused { return }
        }
        switch deadlines.expired(now: .now()) {
        case .hello?: close(context, counting: .helloTimeout)
        case .frame?: close(context, counting: .frameTimeout)
        case .idle?:
            counters.closedIdle()
            close(context, counting: nil)
        case nil: schedule(context)
        }
    }

    // MARK: - Budget and closing

    /// Holds `bytes` of the budget in all; false when more are not available.
    private func hold(_ bytes: Int) -> Bool {
        if bytes > reserved {
            guard budget.reserve(bytes - reserved) else { return false }
        } else if bytes < reserved {
            budget.release(reserved - bytes)
        }
        reserved = bytes
        counters.incompleteFrameBytes.record(budget.bytesHeld)
        return true
    }

    private func close(_ context: ChannelHandlerContext, counting reason: TransportCounters.Reason?) {
        if let reason { counters.reject(reason) }
        finish()
        context.close(promise: nil)
    }

    /// Stops the timer and gives back the budget held (once).
    private func finish() {
        guard !closing else { return }
        closing = true
        timer?.cancel()
        timer = nil
        if reserved > 0 {
            budget.release(reserved)
            reserved = 0
            counters.incompleteFrameBytes.record(budget.bytesHeld)
        }
        splitter = FrameSplitter()
    }
}
