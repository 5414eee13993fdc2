import Synchronization

/// The two clocks of one simulated node, derived from the shared true time `t`:
///
/// - the wall clock the store stamps writes with (`physicalMillis`):
///   `epoch + t + offset + t · drift / 10^6 + jumps`, which jumps (``jump(byMillis:)``) and can
///   go backwards, as NTP corrections do;
/// - the monotonic clock SWIM and replication timers run on (production: uptime):
///   `base + t + t · drift / 10^6`, which never goes backwards and ignores jumps.
///
/// Thread-safe: the store reads the wall clock on its own queue.
public final class SimulatedClock: Sendable {
    /// The wall-clock reading at true time 0 before offsets: 2026-05-28 (a realistic epoch).
    public static let epochMillis: Int64 = 1_780_000_000_000

    private struct State {
        var offsetMillis: Int64
        var driftPPM: Int64
        var monotonicBase: UInt64
    }

    private let time: SimulatedTime
    private let state: Mutex<State>

    /// - Parameters:
    ///   - offsetMillis: how far the wall clock is ahead of true time (negative: behind).
    ///   - driftPPM: how fast both clocks run, in parts per million (negative: slow); MUST be
    ///     greater than −10^6.
    ///   - monotonicBase: the monotonic reading at true time 0 (an arbitrary uptime).
    public init(time: SimulatedTime, offsetMillis: Int64, driftPPM: Int64, monotonicBase: UInt64) {
        self.time = time
        self.state = Mutex(State(offsetMillis: offsetMillis, driftPPM: max(-999_999, driftPPM), monotonicBase: monotonicBase))
    }

    /// Milliseconds since the Unix epoch as the node's wall clock reads them now.
    public var wallMillis: UInt64 {
        let t = Int64(clamping: time.now)
        return state.withLock { state in
            let reading = Self.epochMillis &+ t &+ state.offsetMillis &+ t * state.driftPPM / 1_000_000
            return UInt64(max(0, reading))
        }
    }

    /// The node's monotonic milliseconds now (what SWIM and replication see as `now`).
    public var monotonicMillis: UInt64 {
        let t = Int64(clamping: time.now)
        return state.withLock { state in
            state.monotonicBase &+ UInt64(max(0, t + t * state.driftPPM / 1_000_000))
        }
    }

    /// The wall clock jumps by `millis` (negative: backwards); the monotonic clock is unaffected.
    public func jump(byMillis millis: Int64) {
        state.withLock { $0.offsetMillis &+= millis }
    }

    /// How far the wall clock is ahead of true time now, in milliseconds.
    public var offsetMillis: Int64 {
        let t = Int64(clamping: time.now)
        return state.withLock { $0.offsetMillis + t * $0.driftPPM / 1_000_000 }
    }

    /// The store's `physicalMillis` source.
    public var physicalMillis: @Sendable () -> UInt64 { { self.wallMillis } }
}
