import Testing
@testable import StoaStore

// MARK: - Helpers

/// The `quotes` whitelist plus a few extra kinds used only by these tests.
private let testFields = FilterFieldSet(
    FilterFieldSet.quotes.fields + [
        FilterFieldSet.Field(name: "likes", kind: .number),
        FilterFieldSet.Field(name: "pinned", column: "is_pinned", kind: .bool),
        FilterFieldSet.Field(name: "weird", column: "we\"ird", kind: .text),
    ])

/// Parses `filter` against `testFields` and returns its SQL translation.
private func translate(_ filter: String) throws(FilterError) -> (sql: String, arguments: [SQLValue]) {
    try RecordFilter.parse(filter, fields: testFields).sql()
}

/// The error message produced by parsing `filter`, or `nil` if it parsed.
private func parseError(_ filter: String) -> String? {
    do throws(FilterError) {
        _ = try RecordFilter.parse(filter, fields: testFields)
        return nil
    } catch {
        return error.message
    }
}

// MARK: - Empty filters

@Suite("RecordFilter: empty input")
struct RecordFilterEmptyTests {
    @Test("empty, whitespace and comment-only filters impose no condition",
          arguments: ["", "   ", "\n\t \r\n", "// just a comment", "  // c1\n  // c2\n"])
    func emptyFilter(_ filter: String) throws {
        let parsed = try RecordFilter.parse(filter, fields: testFields)
        #expect(parsed.isEmpty)
        #expect(parsed == RecordFilter.matchAll)
        let (sql, arguments) = parsed.sql()
        #expect(sql == "1=1")
        #expect(arguments.isEmpty)
    }

    @Test func nonEmptyFilterIsNotEmpty() throws {
        #expect(try RecordFilter.parse("id = 'a'", fields: testFields).isEmpty == false)
    }
}

// MARK: - Operands

@Suite("RecordFilter: operands")
struct RecordFilterOperandTests {
    @Test func doubleQuotedString() throws {
        let (sql, arguments) = try translate(#"author = "Seneca""#)
        #expect(sql == #""author" = ?"#)
        #expect(arguments == [.text("Seneca")])
    }

    @Test func singleQuotedString() throws {
        let (sql, arguments) = try translate("author = 'Marcus Aurelius'")
        #expect(sql == #""author" = ?"#)
        #expect(arguments == [.text("Marcus Aurelius")])
    }

    @Test func escapedQuoteCharacters() throws {
        #expect(try translate(#"content = "say \"hi\"""#).arguments == [.text(#"say "hi""#)])
        #expect(try translate(#"content = 'it\'s'"#).arguments == [.text("it's")])
        // The other quote character needs no escape.
        #expect(try translate(#"content = "it's""#).arguments == [.text("it's")])
        #expect(try translate(#"content = 'say "hi"'"#).arguments == [.text(#"say "hi""#)])
    }

    @Test func otherBackslashesAreLiteral() throws {
        #expect(try translate(#"content = "C:\path\n""#).arguments == [.text(#"C:\path\n"#)])
        #expect(try translate(#"content = 'a\"b'"#).arguments == [.text(#"a\"b"#)])
        #expect(try translate(#"content = "a\\"b""#).arguments == [.text(#"a\"b"#)])
    }

    @Test func unicodeAndEmptyStrings() throws {
        #expect(try translate("content = 'Ἀρετή 🏛️'").arguments == [.text("Ἀρετή 🏛️")])
        #expect(try translate("content = \"line1\nline2\"").arguments == [.text("line1\nline2")])
        // A combining mark right after the opening quote must not swallow the quote.
        #expect(try translate("content = \"\u{301}x\"").arguments == [.text("\u{301}x")])
    }

    @Test("numbers are bound as doubles, as PocketBase binds a Go float64")
    func numbers() throws {
        #expect(try translate("likes = 42").arguments == [.real(42)])
        #expect(try translate("likes = -7").arguments == [.real(-7)])
        #expect(try translate("likes = 0").arguments == [.real(0)])
        #expect(try translate("likes = 2.5").arguments == [.real(2.5)])
        #expect(try translate("likes = -0.25").arguments == [.real(-0.25)])
        #expect(try translate("likes>-1").arguments == [.real(-1)])
        #expect(try translate("likes = 9223372036854775808").arguments == [.real(9223372036854775808)])
    }

    @Test func booleans() throws {
        let (sql, arguments) = try translate("pinned = true")
        #expect(sql == #""is_pinned" = ?"#)
        #expect(arguments == [.integer(1)])
        #expect(try translate("pinned = false").arguments == [.integer(0)])
        #expect(try translate("pinned != TRUE").arguments == [.integer(1)])
    }

    @Test("string booleans compared to a bool field become 0/1")
    func stringBooleans() throws {
        #expect(try translate("pinned = 'true'").arguments == [.integer(1)])
        #expect(try translate("pinned = \"false\"").arguments == [.integer(0)])
        #expect(try translate("pinned = '1'").arguments == [.integer(1)])
        #expect(try translate("pinned = 'maybe'").arguments == [.text("maybe")])
        // Not a bool field: left alone.
        #expect(try translate("author = 'true'").arguments == [.text("true")])
    }

    @Test func literalOnTheLeft() throws {
        let (sql, arguments) = try translate(#""abc" = content"#)
        #expect(sql == #"? = "content""#)
        #expect(arguments == [.text("abc")])
    }

    @Test func fieldAgainstField() throws {
        #expect(try translate("author = source").sql == #"COALESCE("author", '') = COALESCE("source", '')"#)
        #expect(try translate("author != source").sql == #"COALESCE("author", '') != COALESCE("source", '')"#)
        #expect(try translate("created < updated").sql == #""created" < "updated""#)
        #expect(try translate("created < updated").arguments.isEmpty)
    }

    @Test func literalAgainstLiteral() throws {
        let (sql, arguments) = try translate("1 = 1")
        #expect(sql == "? = ?")
        #expect(arguments == [.real(1), .real(1)])
        #expect(try translate("'a' != 'b'").sql == "? IS NOT ?")
        #expect(try translate("null = ''").arguments == [.text(""), .text("")])
    }

    @Test func columnMapping() throws {
        #expect(try translate("pinned = true").sql == #""is_pinned" = ?"#)
        // Embedded double quotes in a column name are doubled.
        #expect(try translate("weird = 'x'").sql == #""we""ird" = ?"#)
    }

    @Test("date strings are compared as written, as PocketBase compares them")
    func dateLiteralsAreRaw() throws {
        #expect(try translate(#"created > "2026-11-24T18:04:01.858Z""#).arguments
                == [.text("2026-11-24T18:04:01.858Z")])
        #expect(try translate(#"created > "2026-11-24 18:04:01.858Z""#).arguments
                == [.text("2026-11-24 18:04:01.858Z")])
        #expect(try translate(#"created >= "2026-11-24""#).arguments == [.text("2026-11-24")])
    }

    @Test("U+0000 in a string is refused with its position")
    func nulInString() throws {
        #expect(parseError("content = 'a\u{0}b'") == "the NUL character (U+0000) is not allowed in a string at position 12")
    }
}

// MARK: - Operators

@Suite("RecordFilter: operators")
struct RecordFilterOperatorTests {
    @Test(arguments: [
        ("author = 'x'", #""author" = ?"#),
        ("author != 'x'", #""author" IS NOT ?"#),
        ("created > 'x'", #""created" > ?"#),
        ("created >= 'x'", #""created" >= ?"#),
        ("created < 'x'", #""created" < ?"#),
        ("created <= 'x'", #""created" <= ?"#),
        ("content ~ 'x'", #""content" LIKE ? ESCAPE '\'"#),
        ("content !~ 'x'", #""content" NOT LIKE ? ESCAPE '\'"#),
        ("content ~ 'x%'", #""content" LIKE ? ESCAPE '\'"#),
        ("content ~ author", #""content" LIKE ('%' || "author" || '%') ESCAPE '\'"#),
    ])
    func everyOperator(filter: String, expected: String) throws {
        #expect(try translate(filter).sql == expected)
    }

    @Test func operatorsWithoutWhitespace() throws {
        #expect(try translate("author='x'").sql == #""author" = ?"#)
        #expect(try translate("author!='x'").sql == #""author" IS NOT ?"#)
        #expect(try translate("likes>=10&&likes<=20").sql == #"("likes" >= ? AND "likes" <= ?)"#)
        #expect(try translate("content!~'x'||content~'y'").sql == #"("content" NOT LIKE ? ESCAPE '\' OR "content" LIKE ? ESCAPE '\')"#)
    }

    @Test func likeWrapsPlainStrings() throws {
        #expect(try translate("content ~ 'stoic'").arguments == [.text("%stoic%")])
        #expect(try translate("content !~ 'stoic'").arguments == [.text("%stoic%")])
    }

    @Test func likeKeepsExplicitWildcards() throws {
        #expect(try translate("content ~ 'stoic%'").arguments == [.text("stoic%")])
        #expect(try translate("content ~ '%virtue'").arguments == [.text("%virtue")])
        #expect(try translate("content !~ 'a%b'").arguments == [.text("a%b")])
    }

    @Test("auto-wrapped LIKE escapes unescaped _, % and backslash, as PocketBase's wrapLikeParams does")
    func likeEscapesWildcards() throws {
        #expect(try translate("content ~ 'a_b'").arguments == [.text(#"%a\_b%"#)])
        #expect(try translate(#"content ~ 'a\b'"#).arguments == [.text(#"%a\\b%"#)])
        // An escaped % is no wildcard: the value is escaped and wrapped (issue 19: `a\%b`).
        #expect(try translate(#"content ~ 'a\%b'"#).arguments == [.text(#"%a\%b%"#)])
        #expect(try translate(#"content ~ '\%'"#).arguments == [.text(#"%\%%"#)])
        // An unescaped % keeps the value as the pattern, backslashes still escaping.
        #expect(try translate(#"content ~ 'a\_b%'"#).arguments == [.text(#"a\_b%"#)])
        #expect(try translate("content ~ 'a_b%'").sql == #""content" LIKE ? ESCAPE '\'"#)
        // A doubled backslash escapes nothing after it.
        #expect(try translate(#"content ~ 'a\\%'"#).arguments == [.text(#"a\\%"#)])
    }

    @Test func likeWithNonStringRightOperand() throws {
        #expect(try translate("content ~ 42").arguments == [.text("%42%")])
        #expect(try translate("content ~ 1.50").arguments == [.text("%1.5%")], "as Go writes the float64")
        #expect(try translate("content ~ ''").arguments == [.text("%%")])
        #expect(try translate("pinned ~ true").arguments == [.text("%1%")])
    }

    @Test("null on either side of LIKE is SQL NULL: it matches nothing, as in PocketBase")
    func likeWithNull() throws {
        #expect(try translate("content ~ null").arguments == [.null])
        #expect(try translate("content !~ null").arguments == [.null])
        #expect(try translate("null ~ content").arguments == [.null])
    }

    @Test func likeWithFieldOnTheRight() throws {
        let (sql, arguments) = try translate("'Seneca the Younger' ~ author")
        #expect(sql == #"? LIKE ('%' || "author" || '%') ESCAPE '\'"#)
        #expect(arguments == [.text("Seneca the Younger")])
        #expect(try translate("content !~ author").sql == #""content" NOT LIKE ('%' || "author" || '%') ESCAPE '\'"#)
    }

    @Test("LIKE on a JSON field matches the raw JSON text")
    func likeOnJSON() throws {
        let (sql, arguments) = try translate(#"tags ~ "stoic""#)
        #expect(sql == #""tags" LIKE ? ESCAPE '\'"#)
        #expect(arguments == [.text("%stoic%")])
    }
}

// MARK: - Null and empty semantics

@Suite("RecordFilter: null and empty values")
struct RecordFilterNullTests {
    @Test(arguments: ["author = null", "author = ''", #"author = """#, "null = author", "'' = author", "author = NULL"])
    func equalsEmptyOnText(_ filter: String) throws {
        let (sql, arguments) = try translate(filter)
        #expect(sql == #"COALESCE("author", '') = ''"#)
        #expect(arguments.isEmpty)
    }

    @Test(arguments: ["author != null", "author != ''", "null != author"])
    func notEqualsEmptyOnText(_ filter: String) throws {
        let (sql, arguments) = try translate(filter)
        #expect(sql == #"COALESCE("author", '') != ''"#)
        #expect(arguments.isEmpty)
    }

    @Test func emptyOnDateNumberAndBool() throws {
        #expect(try translate("updated = null").sql == #"COALESCE("updated", '') = ''"#)
        #expect(try translate("likes = null").sql == #"COALESCE("likes", '') = ''"#)
        #expect(try translate("pinned != null").sql == #"COALESCE("is_pinned", '') != ''"#)
    }

    @Test func emptyOnJSON() throws {
        #expect(try translate("tags = null").sql == #"COALESCE("tags", '') IN ('', '[]', 'null')"#)
        #expect(try translate("tags != ''").sql == #"COALESCE("tags", '') NOT IN ('', '[]', 'null')"#)
    }

    @Test("null in >, >=, <, <= is SQL NULL on every field (matches nothing), as in PocketBase")
    func nullInOrderingComparisons() throws {
        #expect(try translate("author > null").sql == #""author" > NULL"#)
        #expect(try translate("null < created").sql == #"NULL < "created""#)
        #expect(try translate("likes >= null").sql == #""likes" >= NULL"#)
        #expect(try translate("author > null").arguments.isEmpty)
    }

    @Test func nonEmptyComparisonsAreBound() throws {
        let (sql, arguments) = try translate("author != 'Seneca'")
        #expect(sql == #""author" IS NOT ?"#)
        #expect(arguments == [.text("Seneca")])
    }
}

// MARK: - Logical operators and precedence

@Suite("RecordFilter: logic and precedence")
struct RecordFilterLogicTests {
    @Test func andBindsTighterThanOr() throws {
        let (sql, arguments) = try translate("id = 'a' || id = 'b' && author = 'c'")
        #expect(sql == #"("id" = ? OR ("id" = ? AND "author" = ?))"#)
        #expect(arguments == [.text("a"), .text("b"), .text("c")])

        let (sql2, arguments2) = try translate("id = 'a' && id = 'b' || author = 'c'")
        #expect(sql2 == #"(("id" = ? AND "id" = ?) OR "author" = ?)"#)
        #expect(arguments2 == [.text("a"), .text("b"), .text("c")])
    }

    @Test func parenthesesOverridePrecedence() throws {
        let (sql, arguments) = try translate("(id = 'a' || id = 'b') && author = 'c'")
        #expect(sql == #"(("id" = ? OR "id" = ?) AND "author" = ?)"#)
        #expect(arguments == [.text("a"), .text("b"), .text("c")])
    }

    @Test func chainsAreFlattened() throws {
        #expect(try translate("id='a' && id='b' && id='c' && id='d'").sql
                == #"("id" = ? AND "id" = ? AND "id" = ? AND "id" = ?)"#)
        #expect(try translate("id='a' || (id='b' || id='c') || id='d'").sql
                == #"("id" = ? OR "id" = ? OR "id" = ? OR "id" = ?)"#)
        #expect(try translate("(id='a' && id='b') && id='c'").sql
                == #"("id" = ? AND "id" = ? AND "id" = ?)"#)
    }

    @Test func redundantParentheses() throws {
        #expect(try translate("((((id = 'a'))))").sql == #""id" = ?"#)
        #expect(try translate("(id = 'a')").sql == #""id" = ?"#)
    }

    @Test func nestedGroups() throws {
        let (sql, arguments) = try translate(
            "(author = 'a' || (content ~ 'b' && (likes > 1 || likes < -1))) && pinned = true")
        #expect(sql == #"(("author" = ? OR ("content" LIKE ? ESCAPE '\' AND ("likes" > ? OR "likes" < ?))) AND "is_pinned" = ?)"#)
        #expect(arguments == [.text("a"), .text("%b%"), .real(1), .real(-1), .integer(1)])
    }

    @Test func argumentsFollowPlaceholderOrder() throws {
        let (sql, arguments) = try translate("'x' = author && likes >= 3 && 'y' ~ content")
        #expect(sql == #"(? = "author" AND "likes" >= ? AND ? LIKE ('%' || "content" || '%') ESCAPE '\')"#)
        #expect(arguments == [.text("x"), .real(3), .text("y")])
        #expect(sql.filter { $0 == "?" }.count == arguments.count)
    }
}

// MARK: - Whitespace and comments

@Suite("RecordFilter: whitespace and comments")
struct RecordFilterTriviaTests {
    @Test func newlinesAndTabsAnywhere() throws {
        let (sql, arguments) = try translate("\n\t(\n author\n=\n'x'\r\n||\tid\n!=\n'y'\n)\n")
        #expect(sql == #"("author" = ? OR "id" IS NOT ?)"#)
        #expect(arguments == [.text("x"), .text("y")])
    }

    @Test func lineComments() throws {
        let filter = """
            // quotes by Seneca
            author = 'Seneca' // exact match
            && content ~ 'death' // contains
            """
        let (sql, arguments) = try translate(filter)
        #expect(sql == #"("author" = ? AND "content" LIKE ? ESCAPE '\')"#)
        #expect(arguments == [.text("Seneca"), .text("%death%")])
    }

    @Test func commentMarkersInsideStringsAreText() throws {
        #expect(try translate("source = 'https://example.com'").arguments == [.text("https://example.com")])
    }

    @Test func commentCanHideTheRest() throws {
        #expect(try translate("id = 'a' // && nonsense ((( ").sql == #""id" = ?"#)
    }
}

// MARK: - Errors

@Suite("RecordFilter: errors")
struct RecordFilterErrorTests {
    @Test func unknownField() {
        #expect(parseError("foo = 1") == #"unknown field "foo" at position 0"#)
        #expect(parseError("id = 'a' && Author = 'b'") == #"unknown field "Author" at position 12"#)
        #expect(parseError("'x' = bar") == #"unknown field "bar" at position 6"#)
    }

    @Test func errorsAreTypedAndEquatable() {
        #expect(throws: FilterError(message: #"unknown field "foo" at position 0"#)) {
            try RecordFilter.parse("foo = 1", fields: testFields)
        }
        #expect(throws: FilterError.self) {
            try RecordFilter.parse("id =", fields: testFields)
        }
    }

    @Test(arguments: ["?=", "?!=", "?>", "?>=", "?<", "?<=", "?~", "?!~"])
    func anyOfOperatorsAreUnsupported(_ op: String) throws {
        let message = try #require(parseError("tags \(op) 'x'"))
        #expect(message.hasPrefix("unsupported operator \"\(op)\" at position 5"))
        #expect(message.contains("any-of"))
    }

    @Test(arguments: ["==", "=>", "<>", "=<", "!", "!!=", "~~", "=~"])
    func otherOperatorsAreUnsupported(_ op: String) throws {
        let message = try #require(parseError("author \(op) 'x'"))
        #expect(message.hasPrefix("unsupported operator \"\(op)\" at position 7"))
    }

    @Test func unexpectedEnd() throws {
        #expect(parseError("author =") == "unexpected end of filter: expected a field or value")
        #expect(parseError("author") == "unexpected end of filter: expected an operator such as = after the operand")
        #expect(parseError("author = 'a' &&") == "unexpected end of filter: expected a field or value")
        #expect(parseError("author = 'a' ||   // trailing comment") == "unexpected end of filter: expected a field or value")
        let unclosed = try #require(parseError("(author = 'a'"))
        #expect(unclosed.hasPrefix("unexpected end of filter: missing \")\""))
        #expect(unclosed.hasSuffix("at position 0"))
    }

    @Test func unterminatedString() {
        #expect(parseError("author = 'Seneca") == "unterminated string starting at position 9")
        #expect(parseError(#"author = "Seneca\""#) == "unterminated string starting at position 9")
        #expect(parseError(#"author = "Seneca'"#) == "unterminated string starting at position 9")
    }

    @Test func parenthesisErrors() {
        #expect(parseError("author = 'a')") == #"unmatched ")" at position 12"#)
        #expect(parseError(")") == #"expected a field or value but found ")" at position 0"#)
        #expect(parseError("()") == "empty parentheses at position 0")
        #expect(parseError("(author = 'a' 'b')") == #"expected "&&", "||" or ")" but found string "b" at position 14"#)
    }

    @Test func structuralErrors() {
        #expect(parseError("author = 'a' author = 'b'") == #"expected "&&" or "||" but found "author" at position 13"#)
        #expect(parseError("&& author = 'a'") == #"expected a field or value but found "&&" at position 0"#)
        #expect(parseError("author = = 'a'") == #"expected a field or value but found operator "=" at position 9"#)
        #expect(parseError("author 'a'") == #"expected an operator such as = but found string "a" at position 7"#)
        #expect(parseError("author = 'a' && && id = 'b'") == #"expected a field or value but found "&&" at position 16"#)
        #expect(parseError("author = 'a' || (id = 'b' ||)") == #"expected a field or value but found ")" at position 28"#)
    }

    @Test func singleAmpersandOrPipe() throws {
        let and = try #require(parseError("author = 'a' & id = 'b'"))
        #expect(and == #"unexpected character "&" at position 13: did you mean "&&"?"#)
        let or = try #require(parseError("author = 'a' | id = 'b'"))
        #expect(or == #"unexpected character "|" at position 13: did you mean "||"?"#)
    }

    @Test func unexpectedCharacters() {
        #expect(parseError("author = 'a';") == #"unexpected character ";" at position 12"#)
        #expect(parseError("likes = 1 + 2") == #"unexpected character "+" at position 10"#)
        #expect(parseError("author = `a`") == #"unexpected character "`" at position 9"#)
        #expect(parseError("author / 'a'") == #"unexpected character "/" at position 7"#)
        #expect(parseError("likes = -x") == #"unexpected character "-" at position 8"#)
        #expect(parseError("author = \u{0}") == #"unexpected character "\0" at position 9"#)
    }

    @Test func invalidNumbers() {
        #expect(parseError("likes = 1.2.3") == #"invalid number "1.2.3" at position 8"#)
        #expect(parseError("likes = 12abc") == #"invalid number "12abc" at position 8"#)
        #expect(parseError("likes = 1.") == #"invalid number "1." at position 8"#)
        let huge = String(repeating: "9", count: 400)
        #expect(parseError("likes = \(huge)")?.hasPrefix("number \"") == true)
        #expect(parseError("likes = \(huge)")?.hasSuffix("is out of range at position 8") == true)
    }

    @Test func unsupportedMacros() throws {
        for macro in ["@request.auth.id", "@collection.quotes.author", "@now", "@todayStart", "@request.query.x:lower"] {
            let message = try #require(parseError("author = \(macro)"))
            #expect(message.hasPrefix("unsupported macro \"\(macro)\" at position 9"), "\(message)")
        }
        #expect(parseError("@now > created")?.hasPrefix(#"unsupported macro "@now" at position 0"#) == true)
    }

    @Test func unsupportedPathsAndModifiers() throws {
        for name in ["author.name", "userId.email", "tags:length", "tags:each", "author:lower", "a#b"] {
            let message = try #require(parseError("\(name) = 'x'"))
            #expect(message.hasPrefix("unsupported field \"\(name)\" at position 0"), "\(message)")
        }
    }

    @Test func longIdentifiersAreTruncatedInMessages() throws {
        let name = String(repeating: "x", count: 200)
        let message = try #require(parseError("\(name) = 1"))
        #expect(message.count < 100)
        #expect(message.hasPrefix("unknown field \"xxxx"))
    }

    @Test func leftmostErrorWins() {
        // The unknown field comes before the unterminated string.
        #expect(parseError("foo = 'abc") == #"unknown field "foo" at position 0"#)
    }
}

// MARK: - Limits

@Suite("RecordFilter: limits")
struct RecordFilterLimitTests {
    @Test func lengthLimit() throws {
        let padding = String(repeating: " ", count: RecordFilter.maximumLength - "id = 'a'".count)
        #expect(try translate("id = 'a'" + padding).sql == #""id" = ?"#)

        let tooLong = "id = 'a'" + padding + " "
        #expect(parseError(tooLong) == "filter is too long: 4097 characters (at most 4096 are allowed)")
    }

    @Test func nestingAtTheLimitIsAccepted() throws {
        let depth = RecordFilter.maximumDepth
        let filter = String(repeating: "(", count: depth) + "id = 'a'" + String(repeating: ")", count: depth)
        #expect(try translate(filter).sql == #""id" = ?"#)
    }

    @Test func nestingBeyondTheLimitIsRejected() {
        let depth = RecordFilter.maximumDepth + 1
        let filter = String(repeating: "(", count: depth) + "id = 'a'" + String(repeating: ")", count: depth)
        #expect(parseError(filter) == "parentheses are nested deeper than 32 levels at position 32")
    }

    @Test("deep opening parentheses fail fast without overflowing the stack")
    func hostileNesting() {
        let filter = String(repeating: "(", count: RecordFilter.maximumLength)
        #expect(parseError(filter) == "parentheses are nested deeper than 32 levels at position 32")
    }

    @Test func longFlatChainsDoNotNest() throws {
        let term = "id = 'a'"
        let count = 400
        let filter = Array(repeating: term, count: count).joined(separator: "&&")
        let (sql, arguments) = try translate(filter)
        #expect(arguments.count == count)
        #expect(sql.hasPrefix(#"("id" = ? AND "id" = ?"#))
    }
}

// MARK: - Injection attempts

@Suite("RecordFilter: injection attempts")
struct RecordFilterInjectionTests {
    @Test func escapedQuoteStaysInsideTheBoundValue() throws {
        let (sql, arguments) = try translate(#"content = "x\" OR 1=1 --""#)
        #expect(sql == #""content" = ?"#)
        #expect(arguments == [.text(#"x" OR 1=1 --"#)])
    }

    @Test func statementSeparatorIsRejected() throws {
        let message = try #require(parseError("content = 'a'; DROP TABLE quotes"))
        #expect(message == #"unexpected character ";" at position 13"#)
    }

    @Test func sqlInsideStringsIsBound() throws {
        let payloads = [
            "'; DROP TABLE quotes; --",
            "\" OR \"1\"=\"1",
            "a') OR ('1'='1",
            "%' OR 1=1 --",
        ]
        for payload in payloads {
            var escaped = ""
            for character in payload {
                if character == "'" { escaped += "\\'" } else { escaped.append(character) }
            }
            let (sql, arguments) = try translate("content = '\(escaped)' || content ~ '\(escaped)'")
            // Wrapped or not, LIKE always escapes with a backslash (as PocketBase).
            let like = #"LIKE ? ESCAPE '\'"#
            #expect(sql == #"("content" = ? OR "content" "# + like + ")")
            #expect(arguments.first == .text(payload))
        }
    }

    @Test func sqlKeywordsAreNotOperators() {
        #expect(parseError("content = 'a' OR 1 = 1") == #"expected "&&" or "||" but found "OR" at position 14"#)
        #expect(parseError("content = 'a' AND id = 'b'") == #"expected "&&" or "||" but found "AND" at position 14"#)
        #expect(parseError("content LIKE 'a'") == #"expected an operator such as = but found "LIKE" at position 8"#)
        #expect(parseError("1 = 1 -- comment") == #"unexpected character "-" at position 6"#)
        #expect(parseError("id = 'a' /* c */") == #"unexpected character "/" at position 9"#)
    }

    @Test func sqlFunctionsAndSubqueriesAreRejected() {
        #expect(parseError("content = lower('A')") == #"unknown field "lower" at position 10"#)
        #expect(parseError("(SELECT 1) = 1") == #"unknown field "SELECT" at position 1"#)
        #expect(parseError("rowid > 0") == #"unknown field "rowid" at position 0"#)
        #expect(parseError("sqlite_master = 1") == #"unknown field "sqlite_master" at position 0"#)
    }

    @Test func sqlTextNeverContainsClientText() throws {
        let filter = "content = 'Robert\\'); DROP TABLE quotes;--' && author ~ \"%\\\" OR 1=1\""
        let (sql, arguments) = try translate(filter)
        #expect(!sql.contains("DROP"))
        #expect(!sql.contains("Robert"))
        #expect(!sql.contains("1=1"))
        #expect(arguments == [.text("Robert'); DROP TABLE quotes;--"), .text("%\" OR 1=1")])
    }
}
