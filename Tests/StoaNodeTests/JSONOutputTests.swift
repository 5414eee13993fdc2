import Foundation
import Hummingbird
import StoaCore
import StoaStore
import Testing
@testable import StoaNode

/// The hand-written JSON of records and pages means the same as the sorted-keys `JSONEncoder`
/// output it replaces, byte for byte on plain text and value for value on text that needs escaping.
@Suite struct JSONOutputTests {
    func record(_ content: String, tags: [String] = ["stoic", "b"]) -> StoredRecord {
        StoredRecord(
            collection: "quotes", id: "abcdefghijklmno",
            values: ["content": .string(content), "author": .string("Marcus"), "source": .string(""), "notes": .string("n"),
                     "userId": .string("user00000000001")],
            tags: tags, created: "2026-11-24 18:04:01.858Z", updated: "2026-11-24 18:04:02.000Z"
        )
    }

    func both(_ value: some JSONWritable) throws -> (fast: Data, encoder: Data) {
        var output = JSONOutput()
        value.writeJSON(into: &output)
        return (Data(output.bytes), try Response.jsonEncoder.encode(value))
    }

    @Test func plainRecordsAndPagesMatchTheEncoderByteForByte() throws {
        let view = RecordView(record: record("You have power over your mind / not outside events."), schema: .quotes, only: nil, showEmail: false)
        let single = try both(view)
        #expect(single.fast == single.encoder, "\(String(decoding: single.fast, as: UTF8.self))")
        let page = ListEnvelope(items: [view, view], page: 2, perPage: 2, totalItems: 7, totalPages: 4)
        let pair = try both(page)
        #expect(pair.fast == pair.encoder)
        let empty = try both(ListEnvelope(items: [], page: 1, perPage: 30, totalItems: -1, totalPages: -1))
        #expect(empty.fast == empty.encoder)
        let narrowed = try both(RecordView(record: record("x"), schema: .quotes, only: ["id", "tags", "nope"], showEmail: false))
        #expect(narrowed.fast == narrowed.encoder)
    }

    @Test func escapedTextMeansTheSame() throws {
        let tricky = "quote \" backslash \\ newline \n tab \t cr \r bell \u{07} unit \u{1F} nul \u{0} é 名 😀 \u{2028} end"
        let view = RecordView(record: record(tricky, tags: ["a\"b", "c\\d", "\u{1}", ""]), schema: .quotes, only: nil, showEmail: false)
        let (fast, encoder) = try both(view)
        let parsedFast = try #require(try JSONSerialization.jsonObject(with: fast) as? NSDictionary)
        let parsedEncoder = try #require(try JSONSerialization.jsonObject(with: encoder) as? NSDictionary)
        #expect(parsedFast == parsedEncoder)
        #expect(parsedFast["content"] as? String == tricky)
    }
}
