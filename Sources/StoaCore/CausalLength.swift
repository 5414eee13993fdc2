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
    /// The largest length a record may have. Every delete and restore adds one, so no replica
    /// comes near it honestly; the decoders (``RecordStateCodec`` for the wire and the store,
    /// `Decodable` for old JSON rows) reject a larger one, so ``deleted()`` and ``restored()``
    /// never overflow on a length that came from a peer.
    public static let maxValue = UInt64(Int64.max)

    public init(value: UInt64) { self.value = value }

    public var isLive: Bool { value % 2 == 1 }

    /// The length after deleting; unchanged when already deleted.
    public func deleted() -> CausalLength { isLive ? CausalLength(value: value + 1) : self }
    /// The length after restoring; unchanged when already live.
    public func restored() -> CausalLength { isLive ? self : CausalLength(value: value + 1) }

    public mutating func merge(_ other: CausalLength) { value = max(value, other.value) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        value = try container.decode(UInt64.self)
        guard value <= Self.maxValue else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "causal length \(value) is above \(Self.maxValue)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
