import Synchronization

/// The simulation's true time in milliseconds since the start of the run, shared by every
/// node's ``SimulatedClock``. Only the event loop advances it, to the time of the event it is
/// handling, so every clock reading during that event is fixed.
public final class SimulatedTime: Sendable {
    private let millis = Mutex<UInt64>(0)

    public init() {}

    /// The current true time.
    public var now: UInt64 { millis.withLock { $0 } }

    /// Moves time to `value`; MUST NOT go backwards.
    func advance(to value: UInt64) {
        millis.withLock { $0 = max($0, value) }
    }
}
