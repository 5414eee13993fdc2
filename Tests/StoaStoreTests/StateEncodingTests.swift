import Foundation
import GRDB
import StoaCore
import Testing
@testable import StoaStore

@Suite("Stored state encoding")
struct StateEncodingTests {
    let clock = TestClock()

    /// New deltas are stored in the binary format (format byte 1), a live record's state without
    /// the values its row holds (format 2), a deleted one's whole (format 1); rows written in the
    /// earlier JSON format still read, merge and replicate, and rewriting one stores it binary.
    @Test func binaryFormatAndLegacyJSONRowsBothRead() async throws {
        let db = try StoaDatabase.inMemory(nodeName: "n1", physicalMillis: clock.now)
        let fields: [String: FieldValue] = ["content": .string("one"), "userId": .string("user00000000001")]
        _ = try await db.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: fields, tags: ["b", "a"])
        let (stateBlob, deltaBlob) = try await db.writer.read { sqlDB in
            (try Data.fetchOne(sqlDB, sql: "SELECT state FROM record_state")!, try Data.fetchOne(sqlDB, sql: "SELECT delta FROM changes")!)
        }
        #expect(stateBlob.first == StoaDatabase.strippedStateFormat)
        #expect(deltaBlob.first == StoaDatabase.binaryStateFormat)
        let state = try #require(try await db.writer.read { try db.loadState($0, collection: "quotes", id: "aaaaaaaaaaaaaa1") })
        #expect(state.orderedTags == ["b", "a"] && state["content"] == .string("one") && state["userId"] == .string("user00000000001"))
        #expect(try state == db.decodeState(deltaBlob), "the stored state reads back as the whole state")
        #expect(Array(StoaDatabase.encodeStoredState(state, schema: .quotes)) == Array(stateBlob), "deterministic encoding")
        #expect(stateBlob.count < StoaDatabase.encodeState(state).count - 20, "the row's values are not stored twice")

        // Rewrite the row and the change as the JSON an earlier version stored.
        let json = try JSONEncoder().encode(state)
        try await db.writer.write { sqlDB in
            try sqlDB.execute(sql: "UPDATE record_state SET state = ?", arguments: [json])
            try sqlDB.execute(sql: "UPDATE changes SET delta = ?", arguments: [json])
        }
        #expect(try db.decodeState(json) == state)
        let digest = try await db.digest()
        let changes = try await db.changes(notIn: VersionVector())
        #expect(changes.map(\.delta) == [state])

        clock.advance(5)
        let updated = try await db.update(.quotes, id: "aaaaaaaaaaaaaa1", owner: nil, fields: ["author": .string("Seneca")])
        #expect(updated.tags == ["b", "a"] && updated.text("author") == "Seneca")
        let rewritten = try await db.writer.read { sqlDB in try Data.fetchOne(sqlDB, sql: "SELECT state FROM record_state")! }
        #expect(rewritten.first == StoaDatabase.strippedStateFormat)
        #expect(try await db.digest() != digest)
        try await db.delete(.quotes, id: "aaaaaaaaaaaaaa1", owner: nil)
        let deleted = try await db.writer.read { sqlDB in try Data.fetchOne(sqlDB, sql: "SELECT state FROM record_state")! }
        #expect(deleted.first == StoaDatabase.binaryStateFormat, "a deleted record has no row: its state is stored whole")
        #expect(try db.decodeState(deleted)["author"] == .string("Seneca"))

        #expect(throws: WireCodecError.self) { try db.decodeState(Data([7, 1, 2])) }
        #expect(throws: WireCodecError.self) { try db.decodeState(Data()) }
        #expect(throws: WireCodecError.self) { try db.decodeState(Data([1, 0xFF])) }
    }
}
