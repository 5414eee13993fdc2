import Synchronization

/// The bytes all gossip stream connections together may hold in frames not yet complete
/// (``StreamLimits/maxIncompleteFrameBytes``), shared by every event loop.
///
/// Contract: ``reserve(_:)`` succeeds only while the total stays within `limit`; every byte
/// reserved MUST be ``release(_:)``d (when the frame completes or its connection closes).
final class FrameByteBudget: Sendable {
    let limit: Int
    private let held = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `bytes` (≥ 0) from the budget; false, taking nothing, when that would pass the limit.
    func reserve(_ bytes: Int) -> Bool {
        var current = held.load(ordering: .relaxed)
        while true {
            guard bytes <= limit - current else { return false }
            let (exchanged, original) = held.compareExchange(expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func release(_ bytes: Int) {
        held.subtract(bytes, ordering: .relaxed)
    }

    /// Bytes reserved now.
    var bytesHeld: Int { held.load(ordering: .relaxed) }
}
