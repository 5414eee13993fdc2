/// The Generic Cell Rate Algorithm (ITU-T I.371 "virtual scheduling"), the rate limiter's state
/// machine for one key: the whole state is the theoretical arrival time (TAT) of the next request.
///
/// With emission interval T = 1/rate and burst tolerance τ = (burst − 1)·T, a request at time t
/// conforms iff TAT ≤ t + τ; a conforming request that is admitted moves TAT to max(TAT, t) + T.
/// From idle, requests offered over the closed interval [0, D] are admitted exactly
/// ⌊rate·D⌋ + burst times (when offered densely enough that the bucket never overflows).
///
/// All arithmetic is exact: the rate is read as a fraction num/den (den = 10⁶, so rates are exact
/// to a millionth of a request per second) and time is counted in units of 1/num nanoseconds, in
/// which T = 10⁹·den is an integer. A TAT of 0 is "idle" (every `now` is ≥ 0).
public struct GCRA: Sendable, Hashable {
    /// Time units per nanosecond.
    @usableFromInline let unitsPerNanosecond: UInt128
    /// Emission interval T in units.
    @usableFromInline let interval: UInt128
    /// Burst tolerance τ = (burst − 1)·T in units.
    @usableFromInline let tolerance: UInt128
    /// Requests admitted at once from idle.
    public let burst: Int

    /// - Precondition: `rate` is finite and in 10⁻⁶...10⁹; `burst` in 1...10⁹
    ///   (`RateLimitPolicy.validate()` reports these as errors).
    public init(rate: Double, burst: Int) {
        precondition(rate.isFinite && rate >= 1e-6 && rate <= 1e9, "GCRA rate \(rate) outside 1e-6...1e9")
        precondition(burst >= 1 && burst <= 1_000_000_000, "GCRA burst \(burst) outside 1...1e9")
        var numerator = UInt64((rate * 1_000_000).rounded())
        var denominator: UInt64 = 1_000_000
        let divisor = Self.gcd(numerator, denominator)
        numerator /= divisor
        denominator /= divisor
        unitsPerNanosecond = UInt128(numerator)
        interval = 1_000_000_000 * UInt128(denominator)
        tolerance = UInt128(burst - 1) * interval
        self.burst = burst
    }

    /// `now` (nanoseconds) in units.
    @inlinable
    public func units(_ now: UInt64) -> UInt128 { UInt128(now) * unitsPerNanosecond }

    /// Whether a request at `now` conforms given the key's TAT (0 when the key is unknown).
    @inlinable
    public func conforms(tat: UInt128, now: UInt64) -> Bool { tat <= units(now) + tolerance }

    /// The TAT after admitting a conforming request at `now`.
    @inlinable
    public func charged(tat: UInt128, now: UInt64) -> UInt128 { max(tat, units(now)) + interval }

    /// The TAT after `count` requests admitted at `now` (by this process or, reported, by
    /// another gateway sharing the policy): `count` intervals on from max(TAT, now).
    @inlinable
    public func charged(tat: UInt128, now: UInt64, count: UInt64) -> UInt128 { max(tat, units(now)) + UInt128(count) * interval }

    /// Whether the key is back at idle (a full burst available): its state can be forgotten.
    @inlinable
    public func isIdle(tat: UInt128, now: UInt64) -> Bool { tat <= units(now) }

    /// Requests that would be admitted if offered at `now` all at once.
    public func remaining(tat: UInt128, now: UInt64) -> Int {
        let t = units(now)
        let effective = max(tat, t)
        guard effective <= t + tolerance else { return 0 }
        return Int((t + tolerance - effective) / interval) + 1
    }

    /// Nanoseconds from `now` until a request conforms again (0 if it conforms now), rounded up.
    public func nanosUntilConforming(tat: UInt128, now: UInt64) -> UInt64 {
        let t = units(now)
        guard tat > t + tolerance else { return 0 }
        return Self.ceilNanos(tat - tolerance - t, unitsPerNanosecond)
    }

    /// Nanoseconds from `now` until the key is back at idle (full burst), rounded up.
    public func nanosUntilIdle(tat: UInt128, now: UInt64) -> UInt64 {
        let t = units(now)
        guard tat > t else { return 0 }
        return Self.ceilNanos(tat - t, unitsPerNanosecond)
    }

    private static func ceilNanos(_ units: UInt128, _ perNanosecond: UInt128) -> UInt64 {
        let nanos = (units + perNanosecond - 1) / perNanosecond
        return nanos > UInt128(UInt64.max) ? UInt64.max : UInt64(nanos)
    }

    private static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
