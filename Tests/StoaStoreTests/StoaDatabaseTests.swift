import Foundation
import GRDB
import StoaCore
import Testing
@testable import StoaStore

/// A new empty folder under the temporary directory (the caller removes it).
func makeTemporaryFolder(_ prefix: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// A controllable wall clock for deterministic stamps.
final class TestClock: Sendable {
    let millis: Mutex<UInt64>
    init(_ start: UInt64 = 1_795_000_000_000) { millis = Mutex(start) }
    func advance(_ delta: UInt64) { millis.withLock { $0 += delta } }
    var now: @Sendable () -> UInt64 { { self.millis.withLock { $0 } } }
}

import Synchronization

@Suite("StoaDatabase local writes")
struct StoaDatabaseTests {
    let clock = TestClock()

    func makeDatabase(_ name: String = "n1") throws -> StoaDatabase {
        try StoaDatabase.inMemory(nodeName: name, physicalMillis: clock.now)
    }

    func quote(_ content: String, owner: String = "user00000000001", extra: [String: FieldValue] = [:]) -> [String: FieldValue] {
        var fields: [String: FieldValue] = ["content": .string(content), "userId": .string(owner)]
        fields.merge(extra) { $1 }
        return fields
    }

    @Test("create, update, delete keep the row, the CRDT state and the change log in step")
    func lifecycle() async throws {
        let db = try makeDatabase()
        let created = try await db.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: quote("one"), tags: ["b", "a"])
        #expect(created.text("content") == "one")
        #expect(created.tags == ["b", "a"], "the order the client wrote is kept")
        #expect(created.created == created.updated)
        clock.advance(5)
        let updated = try await db.update(.quotes, id: "aaaaaaaaaaaaaa1", owner: "user00000000001", fields: ["author": .string("Seneca")], tags: .assign(["a", "c"]))
        #expect(updated.text("author") == "Seneca")
        #expect(updated.text("content") == "one")
        #expect(updated.tags == ["a", "c"])
        #expect(updated.updated > created.updated)
        #expect(updated.created == created.created)
        try await db.delete(.quotes, id: "aaaaaaaaaaaaaa1", owner: "user00000000001")
        #expect(try await db.record(.quotes, id: "aaaaaaaaaaaaaa1", owner: nil) == nil)

        let (changes, state) = try db.writer.read { sqlDB in
            (try Row.fetchAll(sqlDB, sql: "SELECT origin, seq FROM changes ORDER BY seq"),
             try db.loadState(sqlDB, collection: "quotes", id: "aaaaaaaaaaaaaa1"))
        }
        // One change per record and origin: the delete's change stands for the create and update.
        #expect(changes.map { $0[1] as Int64 } == [3])
        #expect(changes.allSatisfy { ($0[0] as String) == "n1" })
        let logged = try await db.localChanges(1...3)
        #expect(logged.map(\.seq) == [3] && logged.first?.covers == [1, 2])
        #expect(logged.first?.delta.fields["content"]?.value == .string("one"), "the earlier writes' deltas are merged in")
        #expect(db.versionVector().entries["n1"]?.contiguous == 3)
        #expect(state?.length == CausalLength(value: 2))
        #expect(state?.tags.elements == ["a", "c"])

        // Ids are never reused, and the trash brings the record back.
        await #expect(throws: StoreError.idTaken) { try await db.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: quote("again")) }
        let restored = try await db.restore(.quotes, id: "aaaaaaaaaaaaaa1", owner: "user00000000001")
        #expect(restored.text("author") == "Seneca")
    }

    @Test("another user's record is not found for view, update and delete, and nothing changes")
    func ownership() async throws {
        let db = try makeDatabase()
        _ = try await db.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: quote("mine"))
        #expect(try await db.record(.quotes, id: "aaaaaaaaaaaaaa1", owner: "someoneelse0000") == nil)
        await #expect(throws: StoreError.notFound) {
            try await db.update(.quotes, id: "aaaaaaaaaaaaaa1", owner: "someoneelse0000", fields: ["content": .string("x")])
        }
        await #expect(throws: StoreError.notFound) { try await db.delete(.quotes, id: "aaaaaaaaaaaaaa1", owner: "someoneelse0000") }
        #expect(try await db.record(.quotes, id: "aaaaaaaaaaaaaa1", owner: nil)?.text("content") == "mine")
        #expect(db.versionVector().entries["n1"]?.contiguous == 1)
    }

    @Test("unique fields are enforced case-insensitively")
    func uniqueEmail() async throws {
        let db = try makeDatabase()
        _ = try await db.create(.users, id: "user00000000001", fields: ["email": .string("Ann@Example.com")], unique: ["email"])
        await #expect(throws: StoreError.notUnique(field: "email")) {
            try await db.create(.users, id: "user00000000002", fields: ["email": .string("ann@example.COM")], unique: ["email"])
        }
        #expect(try await db.user(email: "ANN@example.com")?.id == "user00000000001")
    }

    @Test("list filters, sorts, pages and counts within the owner's records")
    func list() async throws {
        let db = try makeDatabase()
        for index in 1...25 {
            clock.advance(1)
            _ = try await db.create(.quotes, id: String(format: "q%014d", index), fields: quote("quote \(index)", extra: ["author": .string(index % 2 == 0 ? "Seneca" : "Marcus_Aurelius")]))
        }
        _ = try await db.create(.quotes, id: "otheruserquote1", fields: quote("not yours", owner: "user00000000002"))
        let filter = try RecordFilter.parse("author ~ 'seneca' && content != 'quote 2'", fields: CollectionSchema.quotes.filterFields)
        let sort = try RecordSort.parse("-created", fields: CollectionSchema.quotes.filterFields)
        let page = try await db.list(.quotes, query: ListQuery(condition: filter.sql(), order: sort.sql(), owner: "user00000000001", page: 2, perPage: 5))
        #expect(page.totalItems == 11)
        #expect(page.totalPages == 3)
        #expect(page.items.map { $0.text("content") } == ["quote 14", "quote 12", "quote 10", "quote 8", "quote 6"])
        // `_` is literal when auto-wrapped, as in PocketBase.
        let underscore = try RecordFilter.parse("author ~ 's_a'", fields: CollectionSchema.quotes.filterFields)
        #expect(try await db.list(.quotes, query: ListQuery(condition: underscore.sql(), owner: "user00000000001")).totalItems == 13)
        let literal = try RecordFilter.parse("author ~ 'Seneca_'", fields: CollectionSchema.quotes.filterFields)
        #expect(try await db.list(.quotes, query: ListQuery(condition: literal.sql(), owner: "user00000000001")).totalItems == 0)
        let skipped = try await db.list(.quotes, query: ListQuery(owner: "user00000000002", skipTotal: true))
        #expect(skipped.items.count == 1 && skipped.totalItems == -1 && skipped.totalPages == -1)
    }

    @Test("a data folder keeps its node name, its records and its sequence across reopen")
    func reopen() async throws {
        let folder = try makeTemporaryFolder("stoa-test")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("stoa.sqlite").path
        let firstOrigin: String
        do {
            let db = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
            firstOrigin = db.origin
            #expect(firstOrigin.hasPrefix("n1~"))
            _ = try await db.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: quote("kept"))
            try db.markCleanShutdown()
        }
        // A clean shutdown keeps the epoch.
        #expect(try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now).origin == firstOrigin)
        #expect(throws: StoreError.nodeNameMismatch(stored: "n1", given: "n2")) {
            _ = try StoaDatabase(path: path, nodeName: "n2", physicalMillis: clock.now)
        }
        // The wall clock went back: stamps must still move forward after reopening.
        let earlier = TestClock(1_000)
        let db = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: earlier.now)
        let updated = try await db.update(.quotes, id: "aaaaaaaaaaaaaa1", owner: nil, fields: ["notes": .string("n")])
        #expect(updated.text("content") == "kept")
        #expect(updated.updated >= updated.created)
        // The previous open ended without a clean shutdown: a new epoch, so sequence numbers of
        // the old one can never be reused for different writes.
        #expect(db.origin != firstOrigin)
        let vector = db.versionVector()
        #expect(vector.entries[firstOrigin] == VersionVector.Entry(contiguous: 1))
        #expect(vector.entries[db.origin] == VersionVector.Entry(contiguous: 1))
    }
}
