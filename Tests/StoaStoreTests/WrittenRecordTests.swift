import Foundation
import StoaCore
import Testing
@testable import StoaStore

/// A local write answers with the record built from its merged state, without reading the row
/// back (``StoaDatabase/writtenRecord(_:schema:id:state:)``): it must be the row a read returns.
@Suite("Records a write answers with")
struct WrittenRecordTests {
    let clock = TestClock()
    let owner = "user00000000001"

    @Test func answersEqualTheRowsReadBack() async throws {
        let folder = try makeTemporaryFolder("stoa-written")
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = try StoaDatabase(path: folder.appendingPathComponent("db.sqlite").path, nodeName: "n1", physicalMillis: clock.now)
        let id = "q00000000000001"
        let fields: [String: FieldValue] = [
            "content": .string("Waste no more time arguing what a good man should be."), "author": .string("Marcus"),
            "source": .string(""), "notes": .string("ünïcode, \"quotes\"\n"), "userId": .string(owner),
        ]
        var written = try await db.create(.quotes, id: id, fields: fields, tags: ["b", "a", "stoic"])
        #expect(written == (try await db.record(.quotes, id: id, owner: nil)))
        #expect(written.tags == ["b", "a", "stoic"])

        clock.advance(5)
        written = try await db.update(.quotes, id: id, owner: owner, fields: ["author": .string("Marcus Aurelius")], tags: .modify(add: ["z"], remove: ["a"]))
        #expect(written == (try await db.record(.quotes, id: id, owner: nil)))
        #expect(written.text("author") == "Marcus Aurelius" && written.tags == ["b", "stoic", "z"])

        clock.advance(5)
        try await db.delete(.quotes, id: id, owner: owner)
        clock.advance(5)
        written = try await db.restore(.quotes, id: id, owner: owner)
        #expect(written == (try await db.record(.quotes, id: id, owner: nil)))

        // A collection with a unique field reads its row back (the column may not hold the claim).
        let user = try await db.create(.users, id: "u00000000000001", fields: [
            "email": .string("A@Example.com"), "passwordHash": .string("h"), "tokenKey": .string("k"),
        ], unique: ["email"])
        #expect(user == (try await db.record(.users, id: "u00000000000001", owner: nil)))
    }
}
