import Foundation
import FuzzSupport
import StoaCore
@testable import StoaNode
@testable import StoaStore

/// The checks of the record-input target (see main.swift).
enum RecordInputTarget {
    static let owner = "fuzzowner000001"
    static let stamp = Stamp(hlc: HLCTimestamp(millis: 1_764_000_000_000, counter: 7), node: "fuzz")
    /// A quote as it is before the update: tags and fields an update meets.
    static let existing = RecordState.createDelta(
        fields: ["content": .string("Old"), "author": .string("Seneca"), "userId": .string(owner), "created": .string("2025-11-24 16:00:00.000Z")],
        tags: ["stoic", "old", "b"], stamp: Stamp(hlc: HLCTimestamp(millis: 1_763_000_000_000, counter: 0), node: "other"), over: RecordState()
    )

    /// The encoder of the node's other answers (`Response.jsonEncoder`'s settings).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A checked body: limits hold, and its delta and answer are well formed.
    static func checkRecord(_ object: [String: JSONValue], schema: CollectionSchema, creating: Bool, required: Set<String>) {
        let input = RecordInput(object, schema: schema, creating: creating, required: required)
        guard input.errors.isEmpty else { return }
        for (name, value) in input.fields {
            fuzzCheck(schema.field(named: name).map { !$0.hidden } ?? false, "a checked body sets \(name), which is not a visible field")
            if case .string(let text) = value {
                fuzzCheck(text.unicodeScalars.count <= RecordInput.maxTextLength, "a checked body has a text longer than the limit")
            }
        }
        if let id = input.id { fuzzCheck(creating && RecordID.isValid(id), "a checked body has an invalid id") }
        for name in required where creating {
            fuzzCheck(input.fields[name].map { $0 != .string("") } ?? false, "a checked create lacks \(name)")
        }
        if let tags = input.tags {
            fuzzCheck(tags.count <= RecordInput.maxTags, "a checked body has more tags than the limit")
            fuzzCheck(Set(tags).count == tags.count, "a checked body has a repeated tag")
        }
        for tag in (input.tags ?? []) + input.addTags + input.removeTags {
            fuzzCheck(!tag.isEmpty && tag.unicodeScalars.count <= RecordInput.maxTagLength, "a checked body has an empty or too long tag")
        }
        let delta: RecordState
        if creating {
            var fields = input.fields
            fields["created"] = .string(PocketBaseDate.format(millis: stamp.hlc.millis))
            delta = .createDelta(fields: fields, tags: input.createTags, stamp: stamp, over: RecordState())
        } else {
            delta = .updateDelta(fields: input.fields, tagEdit: input.tagEdit, stamp: stamp, over: existing)
        }
        let state = creating ? delta : existing.merged(delta)
        checkEncoding(delta)
        checkAnswer(StoredRecord(schema: schema, id: input.id ?? "aaaaaaaaaaaaaa1", state: state), schema: schema)
    }

    /// A checked `POST /api/sync` body: limits hold, each edit's delta encodes and decodes.
    static func checkDeviceBatch(_ object: [String: JSONValue]) {
        let batch = DeviceBatchInput(object, owner: owner)
        guard batch.errors.isEmpty else { return }
        fuzzCheck(batch.edits.count <= DeviceBatchInput.maxEdits, "a checked batch has more edits than the limit")
        fuzzCheck(Set(batch.edits.map(\.stamp)).count == batch.edits.count, "a checked batch repeats a stamp")
        for edit in batch.edits {
            fuzzCheck(RecordID.isValid(edit.id), "a checked edit has an invalid id")
            fuzzCheck(edit.stamp.hlc.millis <= HLCTimestamp.maxMillis, "a checked edit's time is out of range")
            switch edit.operation {
            case .upsert(let fields, let tags):
                fuzzCheck(fields["userId"].map { $0 == .string(owner) } ?? true, "a checked edit gives the record to another user")
                let delta = RecordState.updateDelta(fields: fields, tagEdit: tags, stamp: edit.stamp, over: existing)
                checkEncoding(delta)
                checkAnswer(StoredRecord(schema: .quotes, id: edit.id, state: existing.merged(delta)), schema: .quotes)
            case .delete:
                checkEncoding(.deleteDelta(stamp: edit.stamp, over: existing))
            case .restore:
                checkEncoding(.restoreDelta(stamp: edit.stamp, over: existing.merged(.deleteDelta(stamp: stamp, over: existing))))
            }
        }
    }

    /// The binary form of a delta (what the store keeps and gossip sends) decodes to the delta.
    static func checkEncoding(_ delta: RecordState) {
        let bytes = RecordStateCodec.encode(delta)
        fuzzCheck((try? RecordStateCodec.decode(bytes)) == delta, "a delta does not survive its binary encoding")
    }

    /// The answer's hand-written JSON parses, to what `JSONEncoder` writes for it.
    static func checkAnswer(_ record: StoredRecord, schema: CollectionSchema) {
        let view = RecordView(record: record, schema: schema, only: nil, showEmail: true)
        var output = JSONOutput()
        view.writeJSON(into: &output)
        guard let written = try? JSONDecoder().decode(JSONValue.self, from: Data(output.bytes)) else {
            fatalError("the hand-written JSON of a record does not parse: \(String(decoding: output.bytes, as: UTF8.self))")
        }
        guard let encoded = try? encoder.encode(view), let reference = try? JSONDecoder().decode(JSONValue.self, from: encoded) else {
            fatalError("JSONEncoder cannot encode a record")
        }
        fuzzCheck(written == reference, "the hand-written JSON of a record differs from JSONEncoder's")
    }
}
