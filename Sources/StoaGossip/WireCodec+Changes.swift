import StoaCore

extension WireCodec {
    // MARK: - Changes

    static func write(_ change: Change, into writer: inout WireWriter) {
        writer.string(change.origin)
        writer.varint(change.seq)
        writer.string(change.collection)
        writer.string(change.recordID)
        RecordStateCodec.write(change.delta, into: &writer)
        CoversCodec.write(change.covers, into: &writer)
        writer.string(change.owner)
    }

    static func readChange(from reader: inout WireReader) throws(WireCodecError) -> Change {
        let origin = try reader.string()
        let seq = try reader.varint()
        guard seq >= 1, seq <= VersionVector.maxSeq else { throw WireCodecError(reason: "sequence number out of range") }
        let collection = try reader.string()
        let recordID = try reader.string()
        let delta = try readRecordState(from: &reader)
        let covers = try CoversCodec.read(from: &reader, below: seq)
        let owner = try reader.string()
        return Change(origin: origin, seq: seq, collection: collection, recordID: recordID, delta: delta, covers: covers, owner: owner)
    }

    /// A record state of a change or snapshot. Its texts (field values, tag names, field
    /// names) must not hold U+0000: no node accepts one from a client (the API answers 400),
    /// and SQLite's C interface would store such a text cut at that character, so a message
    /// carrying one is malformed (dropped and counted like any other).
    static func readRecordState(from reader: inout WireReader) throws(WireCodecError) -> RecordState {
        let state = try RecordStateCodec.readRecordState(from: &reader)
        for (name, register) in state.fields {
            guard !name.utf8.contains(0), !register.value.containsNUL else { throw WireCodecError(reason: "text holds U+0000") }
        }
        for element in state.tags.entries.keys where element.utf8.contains(0) {
            throw WireCodecError(reason: "text holds U+0000")
        }
        return state
    }
}

extension FieldValue {
    /// Whether a text of the value holds U+0000.
    var containsNUL: Bool {
        switch self {
        case .string(let text): return text.utf8.contains(0)
        case .strings(let list): return list.contains { $0.utf8.contains(0) }
        case .null, .bool, .number: return false
        }
    }
}
