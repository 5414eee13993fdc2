/// Appends the primitive encodings of the binary codecs (gossip's `WireCodec`, ``RecordStateCodec``): LEB128 varints, zigzag varints for
/// signed integers, length-prefixed UTF-8 strings, little-endian IEEE-754 doubles.
public struct WireWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// Unsigned LEB128: 7 bits per byte, low bits first, high bit set on all but the last.
    public mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Zigzag-mapped signed integer (0, -1, 1, -2, ... → 0, 1, 2, 3, ...).
    public mutating func signed(_ value: Int) {
        let wide = Int64(value)
        varint(UInt64(bitPattern: (wide << 1) ^ (wide >> 63)))
    }

    public mutating func count(_ value: Int) { varint(UInt64(value)) }

    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Bytes as they are (a fixed-length field; the reader knows the length).
    public mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }

    public mutating func string(_ value: String) {
        let utf8 = value.utf8
        count(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    public mutating func double(_ value: Double) {
        var bits = value.bitPattern
        for _ in 0..<8 {
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bits >>= 8
        }
    }
}
