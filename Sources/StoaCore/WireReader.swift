/// Reads the primitive encodings of the binary codecs (gossip's `WireCodec`, ``RecordStateCodec``) from untrusted bytes.
///
/// Every read checks the remaining length first; counts are bounded both by a fixed cap and
/// by the bytes left (every element takes at least one byte), so hostile input can neither
/// crash the reader nor make it allocate more than a small multiple of the input size.
public struct WireReader {
    /// At most this many elements in any one list, set or map.
    public static let maxCount = 100_000
    /// At most this many bytes in one string.
    public static let maxStringBytes = 1 << 20

    private let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var remaining: Int { bytes.count - offset }

    public mutating func byte() throws(WireCodecError) -> UInt8 {
        guard offset < bytes.count else { throw WireCodecError(reason: "truncated") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Unsigned LEB128, at most 10 bytes, rejecting overflow and overlong (non-minimal) forms.
    public mutating func varint() throws(WireCodecError) -> UInt64 {
        var result: UInt64 = 0
        for index in 0..<10 {
            let part = try byte()
            if index == 9, part > 1 { throw WireCodecError(reason: "varint overflows 64 bits") }
            result |= UInt64(part & 0x7F) << UInt64(7 * index)
            if part & 0x80 == 0 {
                if part == 0, index > 0 { throw WireCodecError(reason: "overlong varint") }
                return result
            }
        }
        throw WireCodecError(reason: "varint too long")
    }

    public mutating func signed() throws(WireCodecError) -> Int {
        let raw = try varint()
        let wide = Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
        guard let value = Int(exactly: wide) else { throw WireCodecError(reason: "integer out of range") }
        return value
    }

    /// An element count, at most ``maxCount`` and at most the bytes left.
    public mutating func count() throws(WireCodecError) -> Int {
        let raw = try varint()
        guard raw <= UInt64(Self.maxCount) else { throw WireCodecError(reason: "count too large") }
        guard raw <= UInt64(remaining) else { throw WireCodecError(reason: "truncated") }
        return Int(raw)
    }

    public mutating func bool() throws(WireCodecError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        default: throw WireCodecError(reason: "invalid bool")
        }
    }

    /// The next `count` bytes as they are.
    public mutating func raw(count: Int) throws(WireCodecError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw WireCodecError(reason: "truncated") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func string() throws(WireCodecError) -> String {
        let raw = try varint()
        guard raw <= UInt64(Self.maxStringBytes) else { throw WireCodecError(reason: "string too long") }
        guard raw <= UInt64(remaining) else { throw WireCodecError(reason: "truncated") }
        let end = offset + Int(raw)
        guard let value = String(validating: bytes[offset..<end], as: UTF8.self) else {
            throw WireCodecError(reason: "invalid UTF-8")
        }
        offset = end
        return value
    }

    public mutating func double() throws(WireCodecError) -> Double {
        guard remaining >= 8 else { throw WireCodecError(reason: "truncated") }
        var bits: UInt64 = 0
        for index in 0..<8 {
            bits |= UInt64(bytes[offset + index]) << UInt64(8 * index)
        }
        offset += 8
        return Double(bitPattern: bits)
    }

    /// Fails unless every byte was consumed.
    public func finish() throws(WireCodecError) {
        guard remaining == 0 else { throw WireCodecError(reason: "trailing bytes") }
    }
}
