import Testing
@testable import StoaStore

// MARK: - Helpers

/// The `quotes` whitelist plus a renamed column used only by these tests.
private let sortFields = FilterFieldSet(
    FilterFieldSet.quotes.fields + [
        FilterFieldSet.Field(name: "likes", column: "like_count", kind: .number),
    ])

/// Parses `sort` against `sortFields` and returns its ORDER BY fragment.
private func orderBy(_ sort: String) throws(FilterError) -> String {
    try RecordSort.parse(sort, fields: sortFields).sql()
}

/// The error message produced by parsing `sort`, or `nil` if it parsed.
private func sortError(_ sort: String) -> String? {
    do throws(FilterError) {
        _ = try RecordSort.parse(sort, fields: sortFields)
        return nil
    } catch {
        return error.message
    }
}

// MARK: - Valid sorts

@Suite("RecordSort: valid input")
struct RecordSortValidTests {
    @Test(arguments: ["", " ", "\n\t "])
    func emptySortRequestsNothing(_ sort: String) throws {
        let parsed = try RecordSort.parse(sort, fields: sortFields)
        #expect(parsed.isEmpty)
        #expect(parsed.keys.isEmpty)
        #expect(parsed.sql() == "")
    }

    @Test func singleAscending() throws {
        #expect(try orderBy("created") == #""created" ASC"#)
        #expect(try orderBy("+created") == #""created" ASC"#)
    }

    @Test func singleDescending() throws {
        #expect(try orderBy("-created") == #""created" DESC"#)
    }

    @Test func multipleKeysKeepTheirOrder() throws {
        #expect(try orderBy("-created,id") == #""created" DESC, "id" ASC"#)
        #expect(try orderBy("+author,-updated,content") == #""author" ASC, "updated" DESC, "content" ASC"#)
    }

    @Test func whitespaceIsTolerated() throws {
        #expect(try orderBy("  -created ,  id  ") == #""created" DESC, "id" ASC"#)
        #expect(try orderBy("- created,+ author") == #""created" DESC, "author" ASC"#)
        #expect(try orderBy("\n-created,\tid\n") == #""created" DESC, "id" ASC"#)
    }

    @Test func keysAreResolved() throws {
        let parsed = try RecordSort.parse("-likes,author", fields: sortFields)
        let likes = try #require(sortFields.field(named: "likes"))
        let author = try #require(sortFields.field(named: "author"))
        #expect(parsed.keys == [.field(likes, .descending), .field(author, .ascending)])
        #expect(parsed.sql() == #""like_count" DESC, "author" ASC"#)
        #expect(!parsed.isEmpty)
    }

    @Test func random() throws {
        #expect(try orderBy("@random") == "RANDOM()")
        #expect(try orderBy("-@random") == "RANDOM()")
        #expect(try orderBy("author,@random") == #""author" ASC, RANDOM()"#)
        #expect(try RecordSort.parse("@random", fields: sortFields).keys == [.random])
    }

    @Test func repeatedFieldsAreKept() throws {
        #expect(try orderBy("id,-id") == #""id" ASC, "id" DESC"#)
    }

    @Test func noTieBreakerIsAdded() throws {
        #expect(try orderBy("author") == #""author" ASC"#)
    }
}

// MARK: - Errors

@Suite("RecordSort: errors")
struct RecordSortErrorTests {
    @Test func unknownField() {
        #expect(sortError("foo") == #"unknown sort field "foo" in term #1"#)
        #expect(sortError("-created,Author") == #"unknown sort field "Author" in term #2"#)
        #expect(sortError("rowid") == #"unknown sort field "rowid" in term #1"#)
    }

    @Test func errorsAreTyped() {
        #expect(throws: FilterError(message: #"unknown sort field "foo" in term #1"#)) {
            try RecordSort.parse("foo", fields: sortFields)
        }
    }

    @Test(arguments: [
        ("created,,id", 2),
        ("created,", 2),
        (",created", 1),
        ("-", 1),
        ("+", 1),
        ("created, - ", 2),
        (" , ", 1),
    ])
    func emptyTerms(sort: String, term: Int) {
        #expect(sortError(sort) == "empty sort term #\(term): expected a field name")
    }

    @Test func doubleSignsAreRejected() {
        #expect(sortError("--created") == #"unknown sort field "-created" in term #1"#)
        #expect(sortError("+-created") == #"unknown sort field "-created" in term #1"#)
    }

    @Test func unsupportedMacros() {
        #expect(sortError("@rowid") == #"unsupported sort macro "@rowid" in term #1 (only @random is supported)"#)
        #expect(sortError("id,-@request.auth.id") == #"unsupported sort macro "@request.auth.id" in term #2 (only @random is supported)"#)
    }

    @Test func injectionAttemptsAreRejected() {
        #expect(sortError("created; DROP TABLE quotes") == #"unknown sort field "created; DROP TABLE quotes" in term #1"#)
        #expect(sortError("created DESC") == #"unknown sort field "created DESC" in term #1"#)
        #expect(sortError("(SELECT 1)") == #"unknown sort field "(SELECT 1)" in term #1"#)
        #expect(sortError("\"created\"") == #"unknown sort field ""created"" in term #1"#)
        #expect(sortError("author.name") == #"unknown sort field "author.name" in term #1"#)
    }

    @Test func lengthLimit() throws {
        let atLimit = "id" + String(repeating: " ", count: RecordSort.maximumLength - 2)
        #expect(try orderBy(atLimit) == #""id" ASC"#)
        #expect(sortError(atLimit + " ") == "sort is too long: 4097 characters (at most 4096 are allowed)")
    }

    @Test func longTermsAreTruncatedInMessages() throws {
        let message = try #require(sortError(String(repeating: "x", count: 500)))
        #expect(message.count < 100)
    }
}
