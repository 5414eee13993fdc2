/// Reads a fuzzer's input as a few selector bytes followed by a payload: the selectors choose
/// what to do with the payload (which schema, which entry point), so one target covers several
/// entry points and libFuzzer's mutations move between them.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The next byte, or 0 once the input is exhausted.
    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// The bytes not read yet.
    public var rest: ArraySlice<UInt8> { bytes[min(offset, bytes.count)...] }

    /// The bytes not read yet as text (invalid UTF-8 replaced, as a server reading text would).
    public var restText: String { String(decoding: rest, as: UTF8.self) }
}
