/// PocketBase record ids: exactly 15 characters from `[a-z0-9]`.
public enum RecordID {
    public static let length = 15
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// True when `id` has PocketBase's id form.
    public static func isValid(_ id: String) -> Bool {
        let bytes = id.utf8
        return bytes.count == length && bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
    }

    /// A new random id drawn from `rng`: each character from one random byte below 252 (a
    /// multiple of 36, so every character is equally likely), bytes taken eight at a time from
    /// `rng.next()`. Two or three draws per id, not one per character: the system generator is
    /// a `getrandom` call per draw, which showed in the profile of creates.
    public static func generate(using rng: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(length)
        while bytes.count < length {
            var word = rng.next()
            for _ in 0..<8 where bytes.count < length {
                let byte = UInt8(truncatingIfNeeded: word)
                word >>= 8
                if byte < 252 { bytes.append(alphabet[Int(byte % 36)]) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
