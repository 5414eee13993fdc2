/// PocketBase record ids: exactly 15 characters from `[a-z0-9]`.
public enum RecordID {
    public static let length = 15
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// True when `id` has PocketBase's id form.
    public static func isValid(_ id: String) -> Bool {
        let bytes = id.utf8
        return bytes.count == length && bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
    }

    /// A new random id drawn from `rng`.
    public static func generate(using rng: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(length)
        for _ in 0..<length {
            bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
