/// A hybrid logical clock reading packed into 64 bits: 48 bits of milliseconds since the Unix
/// epoch and a 16-bit logical counter.
///
/// Ordering is the ordering of the packed value, so readings compare by milliseconds first and
/// counter second. Ties between nodes are broken one level up, by ``Stamp``.
public struct HLCTimestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The packed value: `millis << 16 | counter`.
    public let rawValue: UInt64

    public static let zero = HLCTimestamp(rawValue: 0)
    /// Largest representable milliseconds value (2^48 - 1, about the year 10889).
    public static let maxMillis: UInt64 = (1 << 48) - 1

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Builds a reading; `millis` MUST fit in 48 bits (it is clamped otherwise).
    public init(millis: UInt64, counter: UInt16) {
        self.rawValue = (min(millis, Self.maxMillis) << 16) | UInt64(counter)
    }

    public var millis: UInt64 { rawValue >> 16 }
    public var counter: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "\(millis).\(counter)" }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
