/// The causal length of a record (Yu & Rostad, "A low-cost set CRDT based on causal lengths", 2020).
///
/// Odd means live, even means deleted. Deleting a live record or restoring a deleted one moves
/// to the next length; merge takes the maximum, so a delete and a restore that raced resolve the
/// same way on every replica.
public struct CausalLength: Hashable, Comparable, Sendable, Codable {
    public var value: UInt64

    /// A record that was never created.
    public static let absent = CausalLength(value: 0)
    /// A freshly created record.
    public static let created = CausalLength(value: 1)

    public init(value: UInt64) { self.value = value }

    public var isLive: Bool { value % 2 == 1 }

    /// The length after deleting; unchanged when already deleted.
    public func deleted() -> CausalLength { isLive ? CausalLength(value: value + 1) : self }
    /// The length after restoring; unchanged when already live.
    public func restored() -> CausalLength { isLive ? self : CausalLength(value: value + 1) }

    public mutating func merge(_ other: CausalLength) { value = max(value, other.value) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(UInt64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
