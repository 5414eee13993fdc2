import Foundation
import GRDB
import StoaCore
import Testing
@testable import StoaStore

@Suite("Stored state encoding")
struct StateEncodingTests {
    let clock = TestClock()

    /// New states and deltas are stored in the binary format (format byte 1); rows written in the
    /// earlier JSON format still read, merge and replicate, and rewriting one stores it binary.
    @Test func binaryFormatAndLegacyJSONRowsBothRead() async throws {
        let db = try StoaDatabase.inMemory(nodeName: "n1", physicalMillis: clock.now)
        let fields: [String: FieldValue] = ["content": .string("one"), "userId": .string("user00000000001")]
        _ = try await db.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: fields, tags: ["b", "a"])
        let (stateBlob, deltaBlob) = try await db.writer.read { sqlDB in
            (try Data.fetchOne(sqlDB, sql: "SELECT state FROM record_state")!, try Data.fetchOne(sqlDB, sql: "SELECT delta FROM changes")!)
        }
        #expect(stateBlob.first == StoaDatabase.binaryStateFormat)
        #expect(deltaBlob.first == StoaDatabase.binaryStateFormat)
        let state = try db.decodeState(stateBlob)
        #expect(state.orderedTags == ["b", "a"])
        #expect(Array(StoaDatabase.encodeState(state)) == Array(stateBlob), "deterministic encoding")

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
        #expect(rewritten.first == StoaDatabase.binaryStateFormat)
        #expect(try await db.digest() != digest)

        #expect(throws: WireCodecError.self) { try db.decodeState(Data([7, 1, 2])) }
        #expect(throws: WireCodecError.self) { try db.decodeState(Data()) }
        #expect(throws: WireCodecError.self) { try db.decodeState(Data([1, 0xFF])) }
    }
}
