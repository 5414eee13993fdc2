import NIOCore

/// The inbound side of one gossip stream connection, first in its pipeline: splits the bytes
/// into frames (``FrameSplitter``), opens every sealed frame on the event loop (``FrameSealer``:
/// decrypts, authenticates, refuses replays) and hands on only payloads, keeps the
/// connection's deadlines (``StreamGuard``) and its share of the incomplete-frame budget
/// (``FrameByteBudget``). A frame that does not open (another key, another destination, a
/// replay) closes the connection, counted by why; so does a passed bound (``TransportCounters``).
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

    /// What opening a sealed frame gave.
    enum Opened: Sendable {
        /// A connection's first frame was a hello: the connection is authenticated, the frame is done.
        case hello
        /// The payload of an authentic frame, handed on (a connection's first frame from a sender
        /// before hellos authenticates the connection too).
        case payload(ByteBuffer)
        /// Not opened: the connection is closed and `reason` counted.
        case refused(TransportCounters.Reason)
    }

    private let id: StreamAdmission.ID
    private let registry: StreamConnectionRegistry
    private let budget: FrameByteBudget
    /// Opens one sealed frame; `first` tells the connection's first frame (the only one that
    /// may be a hello).
    private let opener: @Sendable (_ frame: ByteBuffer, _ first: Bool) -> Opened
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
        acceptedAt now: NIODeadline = .now(), open: @escaping @Sendable (_ frame: ByteBuffer, _ first: Bool) -> Opened
    ) {
        self.id = id
        self.registry = registry
        self.budget = budget
        self.opener = open
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
                let first = deadlines.phase == .unauthenticated
                let opened = opener(frame, first)
                if case .refused(let reason) = opened { return close(context, counting: reason) }
                if first {
                    // Evicted while its first frame was on the way: the eviction was counted.
                    guard registry.authenticate(id) else { return close(context, counting: nil) }
                    deadlines.authenticated(now: now)
                }
                if case .payload(let payload) = opened { context.fireChannelRead(wrapInboundOut(payload)) }
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
