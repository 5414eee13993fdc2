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
        let delta = try RecordStateCodec.readRecordState(from: &reader)
        let covers = try CoversCodec.read(from: &reader, below: seq)
        let owner = try reader.string()
        return Change(origin: origin, seq: seq, collection: collection, recordID: recordID, delta: delta, covers: covers, owner: owner)
    }
}
