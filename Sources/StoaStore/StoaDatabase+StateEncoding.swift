import Foundation
import GRDB
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

    // MARK: - Stored record states

    /// First byte of a record state stored without the values its materialized row holds:
    /// the format byte, a varint bitmask over ``CollectionSchema/storedColumnFields`` naming the
    /// registers whose value is the row's column, then ``RecordStateCodec``'s encoding of the
    /// state with those values null.
    static let strippedStateFormat: UInt8 = 2

    /// How a record's state is stored in `record_state`: a live record's text values live in its
    /// materialized row already, so they are not stored twice (format 2); a deleted record (no
    /// row) is stored whole (format 1). Decoding restores the same state
    /// (``decodeStoredState(_:schema:row:)``).
    static func encodeStoredState(_ state: RecordState, schema: CollectionSchema) -> Data {
        guard state.isLive else { return encodeState(state) }
        var stripped = state
        var mask: UInt64 = 0
        for (index, name) in schema.storedColumnFields.enumerated() {
            guard case .string? = state.fields[name]?.value else { continue }
            mask |= 1 << UInt64(index)
            stripped.fields[name]?.value = .null
        }
        guard mask != 0 else { return encodeState(state) }
        var writer = WireWriter()
        writer.byte(strippedStateFormat)
        writer.varint(mask)
        RecordStateCodec.write(stripped, into: &writer)
        return Data(writer.bytes)
    }

    /// Decodes a stored state; a format-2 state takes its stripped values from `row`, the
    /// record's materialized row (selected with ``CollectionSchema/storedColumnsSelect``).
    ///
    /// - Throws: ``WireCodecError`` for a malformed blob or a stripped state without its row.
    func decodeStoredState(_ data: Data, schema: CollectionSchema, row: Row?, offset: Int) throws -> RecordState {
        guard data.first == Self.strippedStateFormat else { return try decodeState(data) }
        var reader = WireReader(Array(data.dropFirst()))
        let mask = try reader.varint()
        var state = try RecordStateCodec.readRecordState(from: &reader)
        try reader.finish()
        for (index, name) in schema.storedColumnFields.enumerated() where mask & (1 << UInt64(index)) != 0 {
            guard let row, let text = row[offset + index] as String? else {
                throw WireCodecError(reason: "stored state of a live record without its materialized row")
            }
            state.fields[name]?.value = .string(text)
        }
        return state
    }
}
