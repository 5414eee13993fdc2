import StoaCore
import Testing
@testable import StoaGossip

/// Issue 19: no node accepts U+0000 in a text from a client, and SQLite's C interface would
/// store such a text cut at that character; a peer's message carrying one is malformed.
@Suite("Wire codec: texts with U+0000")
struct WireCodecNULTests {
    static let stamp = Stamp(hlc: HLCTimestamp(millis: 1_764_000_000_000, counter: 0), node: "n2")

    static func states() -> [(String, RecordState)] {
        [
            ("field value", RecordState(fields: ["content": LWWRegister(value: .string("a\u{0}b"), stamp: stamp)], length: CausalLength(value: 1), lengthStamp: stamp, touched: stamp)),
            ("tag order", RecordState(fields: ["tags": LWWRegister(value: .strings(["ok", "x\u{0}"]), stamp: stamp)])),
            ("tag", RecordState(tags: .addDelta("t\u{0}", stamp: stamp))),
            ("field name", RecordState(fields: ["con\u{0}tent": LWWRegister(value: .string("a"), stamp: stamp)])),
        ]
    }

    @Test("a change or a snapshot holding U+0000 in a text is rejected; the same without it decodes")
    func rejected() throws {
        for (what, state) in Self.states() {
            let change = Change(origin: "n2", seq: 1, collection: "quotes", recordID: "aaaaaaaaaaaaaa1", delta: state)
            #expect(throws: WireCodecError.self, "\(what) in a change") { try WireCodec.decode(WireCodec.encode(.changes(from: "n2", [change], vector: nil))) }
            let batch = SnapshotBatch(id: 1, index: 0, isLast: true, floor: VersionVector(), records: [RecordSnapshot(collection: "quotes", recordID: "aaaaaaaaaaaaaa1", state: state)])
            #expect(throws: WireCodecError.self, "\(what) in a snapshot") { try WireCodec.decode(WireCodec.encode(.snapshot(from: "n2", batch))) }
        }
        let clean = RecordState(fields: ["content": LWWRegister(value: .string("a b"), stamp: Self.stamp)], tags: .addDelta("t", stamp: Self.stamp))
        let change = Change(origin: "n2", seq: 1, collection: "quotes", recordID: "aaaaaaaaaaaaaa1", delta: clean)
        guard case .changes(_, let decoded, _) = try WireCodec.decode(WireCodec.encode(.changes(from: "n2", [change], vector: nil))) else {
            Issue.record("not a changes message")
            return
        }
        #expect(decoded == [change])
    }
}
