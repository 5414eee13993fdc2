/// The encoding of a change's ``Change/covers`` list, on the wire and in the store: a count,
/// the first number, then each next one as its (positive) difference to the previous. Only an
/// ascending list of valid sequence numbers below the change's own decodes.
public enum CoversCodec {
    public static func write(_ covers: [UInt64], into writer: inout WireWriter) {
        writer.count(covers.count)
        var previous: UInt64 = 0
        for seq in covers {
            writer.varint(seq - previous)
            previous = seq
        }
    }

    /// Reads a list written by ``write(_:into:)`` for a change numbered `seq`.
    ///
    /// - Throws: ``WireCodecError`` unless every number is in `1..<seq` and strictly ascending.
    public static func read(from reader: inout WireReader, below seq: UInt64) throws(WireCodecError) -> [UInt64] {
        let count = try reader.count()
        var covers: [UInt64] = []
        covers.reserveCapacity(count)
        var previous: UInt64 = 0
        for _ in 0..<count {
            let step = try reader.varint()
            let (next, overflow) = previous.addingReportingOverflow(step)
            guard step > 0, !overflow, next < seq else { throw WireCodecError(reason: "covered numbers not ascending below the change's") }
            covers.append(next)
            previous = next
        }
        return covers
    }

    /// The stored form (nil for an empty list).
    public static func encode(_ covers: [UInt64]) -> [UInt8]? {
        guard !covers.isEmpty else { return nil }
        var writer = WireWriter()
        write(covers, into: &writer)
        return writer.bytes
    }

    /// Decodes the stored form of the covers of change `seq` (nil: none).
    public static func decode(_ bytes: [UInt8]?, below seq: UInt64) throws(WireCodecError) -> [UInt64] {
        guard let bytes else { return [] }
        var reader = WireReader(bytes)
        let covers = try read(from: &reader, below: seq)
        try reader.finish()
        return covers
    }
}
