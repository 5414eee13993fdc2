import Foundation
import StoaCore
import Testing
@testable import StoaStore

/// Issue 19, point 6: filters run in SQLite as PocketBase 0.40.6 runs them, and
/// ``StoaDatabase/matches(_:schema:condition:)`` (realtime filters) decides as a list does.
@Suite("Filters as PocketBase runs them, in SQLite")
struct FilterParityTests {
    static let owner = "user00000000001"
    static let contents = ["5", "5.0", "a%b", "a\\b", "axb", "%", "plain", "50%", "A_B", "aXb"]

    func database() async throws -> (StoaDatabase, [StoredRecord]) {
        let db = try StoaDatabase.inMemory(nodeName: "n1")
        var records: [StoredRecord] = []
        for (index, content) in Self.contents.enumerated() {
            let author: FieldValue = index == 0 ? .string("") : .string("Author \(index)")
            records.append(try await db.create(.quotes, id: String(format: "q%014d", index), fields: ["content": .string(content), "author": author, "notes": .string(""), "userId": .string(Self.owner)], tags: index % 2 == 0 ? ["t"] : []))
        }
        return (db, records)
    }

    /// The contents of the owner's quotes `filter` lists.
    func listed(_ db: StoaDatabase, _ filter: String) async throws -> Set<String> {
        let parsed = try RecordFilter.parse(filter, fields: CollectionSchema.quotes.filterFields)
        let page = try await db.list(.quotes, query: ListQuery(condition: parsed.sql(), owner: Self.owner, perPage: 1000))
        return Set(page.items.map { $0.text("content") })
    }

    @Test("numbers compare as PocketBase's float64: content = 5 matches the text 5.0, not 5")
    func numbersAgainstText() async throws {
        let (db, _) = try await database()
        #expect(try await listed(db, "content = 5") == ["5.0"])
        #expect(try await listed(db, "content = '5'") == ["5"])
        #expect(try await listed(db, "content ~ 5.0") == ["5", "5.0", "50%"], "LIKE takes the number as Go writes it: 5")
    }

    @Test("null in >, >=, <, <=, ~ and !~ matches nothing; = null still means empty")
    func nullComparisons() async throws {
        let (db, _) = try await database()
        for filter in ["author > null", "author >= null", "author < null", "author <= null", "notes ~ null", "notes !~ null", "null ~ content"] {
            #expect(try await listed(db, filter).isEmpty, "\(filter)")
        }
        #expect(try await listed(db, "author = null") == ["5"])
        #expect(try await listed(db, "author != null").count == Self.contents.count - 1)
    }

    @Test("backslash escapes in ~ with an explicit % or a field on the right, as PocketBase")
    func likeEscapes() async throws {
        let (db, _) = try await database()
        #expect(try await listed(db, #"content ~ 'a\%b'"#) == ["a%b"], "an escaped % is literal and the value is wrapped")
        #expect(try await listed(db, #"content ~ '\%'"#) == ["a%b", "%", "50%"])
        #expect(try await listed(db, #"content ~ 'a\\b'"#) == ["a\\b"])
        #expect(try await listed(db, #"content ~ '%\%'"#) == ["%", "50%"], "explicit wildcard, escaped %")
        #expect(try await listed(db, "content ~ 'a_b'") == ["A_B"], "auto-wrapped _ is literal (LIKE is ASCII case-insensitive)")
        #expect(try await listed(db, "content ~ 'a_b%'") == ["a%b", "a\\b", "axb", "A_B", "aXb"], "explicit wildcards keep _ a wildcard")
    }

    @Test("a date written with T is compared as written (PocketBase does not rewrite it)")
    func rawDates() async throws {
        let (db, records) = try await database()
        let created = records[0].created  // "2026-11-24 18:04:01.858Z" form
        let withT = created.replacingOccurrences(of: " ", with: "T")
        // ' ' sorts before 'T': every stored date is below its T spelling.
        #expect(try await listed(db, "created = '\(withT)'").isEmpty)
        #expect(try await listed(db, "created < '\(withT)'").contains("5"))
    }

    @Test("matches() decides every filter as the list does, for live and deleted records")
    func matchesAgreesWithList() async throws {
        let (db, records) = try await database()
        let filters = [
            "content = 5", "content = '5'", "content ~ 5", "author > null", "author = null", "author != ''", #"content ~ 'a\%b'"#,
            "content ~ 'a_b%'", "tags ~ 't'", "tags = null", "tags != '[]'", "content > 'a' && author ~ '1'", "id = 'q00000000000003'",
            "created > '2000-01-01'", "content !~ 'x' || author = 'Author 4'", "content ~ author", "1 = 1", "true = false",
        ]
        for filter in filters {
            let parsed = try RecordFilter.parse(filter, fields: CollectionSchema.quotes.filterFields)
            let expected = try await listed(db, filter)
            for record in records {
                let matched = try db.matches(record, schema: .quotes, condition: parsed.sql())
                #expect(matched == expected.contains(record.text("content")), "\(filter) on \(record.text("content"))")
            }
        }
        // A deleted record (no row any more) is judged by its last values.
        let deleted = try await db.delete(.quotes, id: records[2].id, owner: Self.owner)
        let parsed = try RecordFilter.parse("content = 'a%b' && author = 'Author 2'", fields: CollectionSchema.quotes.filterFields)
        #expect(try db.matches(deleted, schema: .quotes, condition: parsed.sql()))
    }
}
