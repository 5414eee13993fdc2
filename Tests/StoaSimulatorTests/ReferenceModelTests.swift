import StoaCore
import Testing
@testable import StoaSimulator

@Suite("The reference model")
struct ReferenceModelTests {
    static func stamp(_ millis: UInt64, _ node: String) -> Stamp { Stamp(hlc: HLCTimestamp(millis: millis, counter: 0), node: node) }

    static func write(
        _ kind: OperationKind, _ stamp: Stamp, seq: UInt64 = 1, fields: [String: FieldValue] = [:], length: UInt64? = nil,
        adds: [String: Set<Stamp>] = [:], removes: [String: Set<Stamp>] = [:]
    ) -> ModelWrite {
        ModelWrite(
            write: AcknowledgedWrite(origin: stamp.node, seq: seq, kind: kind, recordID: "aaaaaaaaaaaaaaa", atMillis: 0,
                                     requestedFields: [:], requestedTags: nil, requestedTagEdit: nil,
                                     change: Change(origin: stamp.node, seq: seq, collection: "quotes", recordID: "aaaaaaaaaaaaaaa", delta: RecordState(touched: stamp))),
            stamp: stamp, owner: "user00000000001", fields: fields, length: length, tagAdds: adds, tagRemoves: removes
        )
    }

    @Test("a restore beats a later concurrent delete (greater causal length wins)")
    func causalLength() throws {
        let model = ReferenceModel([
            Self.write(.create, Self.stamp(1, "n1"), fields: ["content": .string("c")], length: 1),
            Self.write(.delete, Self.stamp(2, "n2"), length: 2),
            Self.write(.restore, Self.stamp(3, "n3"), length: 3),
            Self.write(.delete, Self.stamp(4, "n1"), seq: 2, length: 2),
        ])
        let expected = try #require(model.expected("aaaaaaaaaaaaaaa"))
        #expect(expected.live)
        #expect(expected.touched == Self.stamp(4, "n1"))
        #expect(model.expectedRows()["aaaaaaaaaaaaaaa"]?.text("content") == "c")
    }

    @Test("fields are last-writer-wins by stamp, ties broken by the greater node id")
    func lww() throws {
        let model = ReferenceModel([
            Self.write(.create, Self.stamp(1, "n1"), fields: ["content": .string("first"), "author": .string("a")], length: 1),
            Self.write(.update, Self.stamp(5, "n3"), fields: ["content": .string("from n3")]),
            Self.write(.update, Self.stamp(5, "n1"), seq: 2, fields: ["content": .string("from n1")]),
        ])
        let row = try #require(model.expectedRows()["aaaaaaaaaaaaaaa"])
        #expect(row.text("content") == "from n3")
        #expect(row.text("author") == "a")
    }

    @Test("an add concurrent with a remove survives; tags show in the written order")
    func addWins() throws {
        let add1 = Self.stamp(1, "n1"), add2 = Self.stamp(2, "n2")
        let model = ReferenceModel([
            Self.write(.create, add1, fields: ["tags": .strings(["b", "a"])], length: 1, adds: ["a": [add1], "b": [add1]]),
            // n1 removes "a" having seen only its own add; n2 concurrently adds "a" again.
            Self.write(.tags, Self.stamp(3, "n1"), seq: 2, fields: ["tags": .strings(["b"])], adds: ["a": [add1]], removes: ["a": [add1]]),
            Self.write(.tags, add2, adds: ["a": [add2]]),
            Self.write(.tags, Self.stamp(4, "n1"), seq: 3, adds: ["c": [Self.stamp(4, "n1")]]),
        ])
        let expected = try #require(model.expected("aaaaaaaaaaaaaaa"))
        #expect(expected.tags == ["a", "b", "c"])
        #expect(expected.orderedTags == ["b", "a", "c"])
    }
}
