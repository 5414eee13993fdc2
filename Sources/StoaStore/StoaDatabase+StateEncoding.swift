import Foundation
import StoaCore

// MARK: - How record states and change deltas are stored

extension StoaDatabase {
    /// First byte of a binary state blob (`record_state.state`, `changes.delta`): the format
    /// byte, then ``RecordStateCodec``'s encoding. Blobs written before it are JSON objects
    /// (first byte `{`) and are still read, so no migration rewrites existing rows.
    static let binaryStateFormat: UInt8 = 1

    /// The stored form of a state or delta (always the binary format).
    static func encodeState(_ state: RecordState) -> Data {
        var writer = WireWriter()
        writer.byte(binaryStateFormat)
        RecordStateCodec.write(state, into: &writer)
        return Data(writer.bytes)
    }

    /// Reads a stored state or delta in either format.
    ///
    /// - Throws: ``WireCodecError`` for an unknown format byte or a malformed binary blob;
    ///   a decoding error for a malformed JSON one.
    func decodeState(_ data: Data) throws -> RecordState {
        try Self.decodeState(data, json: decoder)
    }

    /// ``decodeState(_:)`` with the JSON decoder given (for migrations, which have no instance).
    static func decodeState(_ data: Data, json decoder: JSONDecoder) throws -> RecordState {
        switch data.first {
        case Self.binaryStateFormat?:
            var reader = WireReader(Array(data.dropFirst()))
            let state = try RecordStateCodec.readRecordState(from: &reader)
            try reader.finish()
            return state
        case UInt8(ascii: "{")?:
            return try decoder.decode(RecordState.self, from: data)
        default:
            throw WireCodecError(reason: "unknown record state format \(data.first.map(String.init) ?? "(empty)")")
        }
    }
}
