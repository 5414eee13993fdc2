/// 64-bit FNV-1a (Fowler, Noll & Vo): a stable hash, identical in every process and on every
/// platform, unlike Swift's `Hasher`, which is seeded per process. Used for trace hashes and
/// for deriving per-purpose random generators from a seed. Not a security primitive.
public struct FNV1a: Sendable, Hashable {
    /// The running hash value.
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// Mixes in the UTF-8 bytes of `text` followed by a newline, so `["ab", "c"]` and
    /// `["a", "bc"]` hash differently.
    public mutating func combine(line text: String) {
        for byte in text.utf8 { mix(byte) }
        mix(0x0A)
    }

    /// Mixes in the eight little-endian bytes of `number`.
    public mutating func combine(_ number: UInt64) {
        var rest = number
        for _ in 0..<8 {
            mix(UInt8(truncatingIfNeeded: rest))
            rest >>= 8
        }
    }

    /// The hash of one string.
    public static func hash(_ text: String) -> UInt64 {
        var hasher = FNV1a()
        hasher.combine(line: text)
        return hasher.value
    }

    /// The value as 16 lowercase hex digits.
    public var hex: String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }

    private mutating func mix(_ byte: UInt8) {
        value ^= UInt64(byte)
        value = value &* 0x100_0000_01b3
    }
}
