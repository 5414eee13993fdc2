import NIOCore

/// The deadlines of one inbound gossip stream connection (``StreamLimits``), as a pure value:
/// the handler feeds it what happened and when, and asks it what expires next.
///
/// Contract:
/// - Until its first frame authenticates, a connection must do so by `helloTimeout` after its
///   accept, and its frames may be at most `maxUnauthenticatedFrameBytes` (``maxFrameBytes``).
/// - Once authenticated, a frame must be complete within `frameTimeout` of its first byte, and a
///   connection without a frame in progress that brings nothing for `idleTimeout` is idle.
/// - While the node itself does not read the connection (its consumer is busy with earlier
///   frames: ``pause()``) neither deadline runs; when reading resumes (``resume(now:)``) both
///   start again from then, as the peer could not send meanwhile.
struct StreamGuard {
    enum Phase: Equatable {
        case unauthenticated
        case authenticated
    }

    /// What ran out.
    enum Expiry: Equatable {
        case hello
        case frame
        case idle
    }

    let limits: StreamLimits
    /// The largest frame of an authenticated connection.
    let maxAuthenticatedFrameBytes: Int
    private(set) var phase = Phase.unauthenticated
    private let helloDeadline: NIODeadline
    /// When the first byte of the frame in progress arrived (nil: no frame in progress).
    private(set) var frameStarted: NIODeadline?
    /// When bytes last arrived (or reading last resumed).
    private(set) var lastActivity: NIODeadline
    private(set) var isPaused = false

    init(limits: StreamLimits, maxFrameBytes: Int, acceptedAt now: NIODeadline) {
        self.limits = limits
        maxAuthenticatedFrameBytes = maxFrameBytes
        helloDeadline = now + limits.helloTimeout
        lastActivity = now
    }

    /// The largest frame the connection may send now.
    var maxFrameBytes: Int {
        phase == .unauthenticated ? limits.maxUnauthenticatedFrameBytes : maxAuthenticatedFrameBytes
    }

    /// Bytes arrived: `completedFrames` frames were completed by them, and `incompleteBytes`
    /// of the next frame are held.
    mutating func received(now: NIODeadline, completedFrames: Int, incompleteBytes: Int) {
        lastActivity = now
        if incompleteBytes == 0 {
            frameStarted = nil
        } else if completedFrames > 0 || frameStarted == nil {
            frameStarted = now
        }
    }

    /// The first frame authenticated.
    mutating func authenticated(now: NIODeadline) {
        phase = .authenticated
        lastActivity = now
    }

    /// The node stopped reading the connection (an authenticated one; before that no frame
    /// is handed on, so nothing can hold reading back).
    mutating func pause() {
        if phase == .authenticated { isPaused = true }
    }

    mutating func resume(now: NIODeadline) {
        guard isPaused else { return }
        isPaused = false
        lastActivity = now
        if frameStarted != nil { frameStarted = now }
    }

    /// The next deadline and what runs out then; nil while paused.
    var nextDeadline: (at: NIODeadline, expiry: Expiry)? {
        switch phase {
        case .unauthenticated:
            return (helloDeadline, .hello)
        case .authenticated:
            guard !isPaused else { return nil }
            if let frameStarted { return (frameStarted + limits.frameTimeout, .frame) }
            return (lastActivity + limits.idleTimeout, .idle)
        }
    }

    /// What has run out at `now`, if anything.
    func expired(now: NIODeadline) -> Expiry? {
        guard let next = nextDeadline, now >= next.at else { return nil }
        return next.expiry
    }
}
