/// Floating-point helpers written with IEEE-754 operations only (no Foundation, no libm), so
/// every platform computes bit-identical results and a simulated run replays exactly (used by
/// Lifeguard's suspicion timeout and the simulator's delay distributions).
public enum PortableMath {
    /// The natural logarithm of a positive finite `x` (NaN otherwise), accurate to a few ulps.
    ///
    /// With `x = m · 2^e` and `m ∈ [1, 2)`: `ln x = e · ln 2 + 2 · atanh((m − 1) / (m + 1))`,
    /// the series converging fast because the argument is below 1/3.
    public static func naturalLog(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return .nan }
        let exponent = Double(x.exponent)
        let mantissa = x.significand
        let z = (mantissa - 1) / (mantissa + 1)
        let z2 = z * z
        var term = z
        var sum = 0.0
        var denominator = 1.0
        for _ in 0..<40 {
            sum += term / denominator
            term *= z2
            denominator += 2
        }
        return exponent * 0.693_147_180_559_945_3 + 2 * sum
    }
}
