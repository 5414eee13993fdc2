/// A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014).
///
/// Pure: the physical time is passed in by the caller on every call, so the same inputs always
/// give the same readings. Readings a clock returns are strictly increasing.
public struct HybridLogicalClock: Sendable {
    /// The last reading issued or observed.
    public private(set) var last: HLCTimestamp
    /// How far ahead of local physical time a remote reading may be before it is rejected.
    public var maxDriftMillis: UInt64

    public init(last: HLCTimestamp = .zero, maxDriftMillis: UInt64 = 60_000) {
        self.last = last
        self.maxDriftMillis = maxDriftMillis
    }

    /// Error thrown by ``receive(_:physicalMillis:)`` for a reading too far in the future.
    public struct DriftExceeded: Error, Equatable, Sendable {
        public let remote: HLCTimestamp
        public let physicalMillis: UInt64
    }

    /// Issues a reading for a local event at physical time `physicalMillis`.
    ///
    /// The result is greater than every reading issued or received before. If the counter would
    /// overflow within one millisecond, the milliseconds part is advanced by one.
    public mutating func now(physicalMillis: UInt64) -> HLCTimestamp {
        let next: HLCTimestamp
        if physicalMillis > last.millis {
            next = HLCTimestamp(millis: physicalMillis, counter: 0)
        } else {
            next = Self.successor(of: last)
        }
        last = next
        return next
    }

    /// Observes a remote reading at physical time `physicalMillis` and returns a reading greater
    /// than both it and every earlier local reading.
    ///
    /// - Throws: ``DriftExceeded`` when `remote` is more than ``maxDriftMillis`` ahead of
    ///   `physicalMillis`; the clock is then left unchanged.
    @discardableResult
    public mutating func receive(_ remote: HLCTimestamp, physicalMillis: UInt64) throws(DriftExceeded) -> HLCTimestamp {
        guard remote.millis <= physicalMillis &+ maxDriftMillis else {
            throw DriftExceeded(remote: remote, physicalMillis: physicalMillis)
        }
        let newest = max(last, remote)
        if physicalMillis > newest.millis {
            last = HLCTimestamp(millis: physicalMillis, counter: 0)
        } else {
            last = Self.successor(of: newest)
        }
        return last
    }

    /// Moves the clock forward to at least `reading` without drift checks (used when reloading
    /// persisted state after a restart).
    public mutating func advance(toAtLeast reading: HLCTimestamp) {
        last = max(last, reading)
    }

    private static func successor(of reading: HLCTimestamp) -> HLCTimestamp {
        if reading.counter == UInt16.max {
            return HLCTimestamp(millis: reading.millis + 1, counter: 0)
        }
        return HLCTimestamp(millis: reading.millis, counter: reading.counter + 1)
    }
}
