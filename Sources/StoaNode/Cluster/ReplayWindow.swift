/// Which message counters of one sender session were already accepted, as IPsec's and
/// WireGuard's anti-replay window: the highest counter accepted and a bitmap of the 64 below it.
/// A pure value.
///
/// Contract: ``accept(_:)`` returns true at most once per counter. It refuses a counter already
/// accepted and any counter 64 or more below the highest accepted (it can no longer tell whether
/// it was seen). Counters within the window may arrive in any order; counter 0 is never accepted
/// (senders start at 1).
public struct ReplayWindow: Sendable, Equatable {
    public static let width: UInt64 = 64
    /// Highest counter accepted (0: none yet).
    public private(set) var highest: UInt64 = 0
    /// Bit i set: counter `highest - i` was accepted (bit 0 is `highest` itself).
    private var seen: UInt64 = 0

    public init() {}

    /// Whether `counter` would be accepted now (no change).
    public func allows(_ counter: UInt64) -> Bool {
        guard counter > 0 else { return false }
        if counter > highest { return true }
        let offset = highest - counter
        guard offset < Self.width else { return false }
        return seen & (1 << offset) == 0
    }

    /// Records `counter` when ``allows(_:)``; false (no change) otherwise.
    public mutating func accept(_ counter: UInt64) -> Bool {
        guard allows(counter) else { return false }
        if counter > highest {
            let shift = counter - highest
            seen = shift >= Self.width ? 0 : seen << shift
            seen |= 1
            highest = counter
        } else {
            seen |= 1 << (highest - counter)
        }
        return true
    }
}
