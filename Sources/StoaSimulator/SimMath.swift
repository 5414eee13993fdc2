/// Random draws written with IEEE-754 basic operations only (no libm), so a run draws
/// bit-identical values on every platform and replays from its seed (the logarithm is
/// ``PortableMath/naturalLog(_:)`` in StoaCore).
enum SimMath {
    /// A uniform double in `[0, 1)` from the top 53 bits of one draw.
    static func unit(_ rng: inout some RandomNumberGenerator) -> Double {
        Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// True with probability `p` (never for `p <= 0`, always for `p >= 1`).
    static func chance(_ p: Double, _ rng: inout some RandomNumberGenerator) -> Bool {
        guard p > 0 else { return false }
        guard p < 1 else { return true }
        return unit(&rng) < p
    }
}
