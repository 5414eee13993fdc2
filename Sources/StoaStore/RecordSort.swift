// MARK: - RecordSort

/// A parsed PocketBase-style list `sort` parameter (e.g. `-created,id`), translatable to
/// a SQLite `ORDER BY` fragment.
///
/// ## Accepted syntax
/// - Comma-separated terms; whitespace around terms and between a sign and its name is ignored.
/// - A term is an optional `-` (descending) or `+` (ascending, the default) followed by a
///   whitelisted field name (see ``FilterFieldSet``), or `@random` (random order; a sign is
///   accepted and ignored).
/// - An empty or whitespace-only string means "no ordering requested" (``isEmpty``).
///
/// ## Rejected (as ``FilterError``)
/// - An empty term (`created,,id`, `created,`, a lone `-`), an unknown field, any other
///   `@macro` (including PocketBase's `@rowid`), and input longer than ``maximumLength``.
///
/// ## SQL
/// ``sql()`` produces exactly the requested keys, e.g. `"created" DESC, "id" ASC`, and no
/// tie-breaker: the caller appends its own (e.g. `rowid`) if it needs a total order.
public struct RecordSort: Sendable, Equatable {

    // MARK: Limits

    /// The longest accepted sort string, in Unicode scalars.
    public static let maximumLength = 4096

    // MARK: Keys

    /// A sort direction.
    public enum Direction: Sendable, Equatable {
        case ascending
        case descending
    }

    /// One `ORDER BY` key.
    public enum Key: Sendable, Equatable {
        /// Order by a whitelisted field.
        case field(FilterFieldSet.Field, Direction)
        /// `@random`: `RANDOM()`.
        case random
    }

    /// The keys in the order they were given.
    public let keys: [Key]

    /// Creates a sort from already-resolved keys.
    public init(keys: [Key]) {
        self.keys = keys
    }

    /// `true` when no ordering was requested.
    public var isEmpty: Bool { keys.isEmpty }

    // MARK: Parsing

    /// Parses a client-supplied `sort`, resolving field names against `fields`.
    ///
    /// - Throws: ``FilterError`` naming the offending term and its 1-based position in the list.
    public static func parse(_ text: String, fields: FilterFieldSet) throws(FilterError) -> RecordSort {
        let length = text.unicodeScalars.count
        if length > maximumLength {
            throw FilterError(message: "sort is too long: \(length) characters (at most \(maximumLength) are allowed)")
        }
        if text.allSatisfy(\.isWhitespace) { return RecordSort(keys: []) }

        var keys: [Key] = []
        let terms = text.split(separator: ",", omittingEmptySubsequences: false)
        for (offset, rawTerm) in terms.enumerated() {
            keys.append(try parseTerm(rawTerm, number: offset + 1, fields: fields))
        }
        return RecordSort(keys: keys)
    }

    private static func parseTerm(_ raw: Substring, number: Int, fields: FilterFieldSet) throws(FilterError) -> Key {
        var term = trimmed(raw)
        var direction = Direction.ascending
        if let sign = term.first, sign == "-" || sign == "+" {
            direction = sign == "-" ? .descending : .ascending
            term = trimmed(term.dropFirst())
        }
        let name = String(term)
        if name.isEmpty {
            throw FilterError(message: "empty sort term #\(number): expected a field name")
        }
        if name == "@random" { return .random }
        if name.hasPrefix("@") {
            throw FilterError(message: "unsupported sort macro \(FilterError.quoted(name)) in term #\(number) (only @random is supported)")
        }
        guard let field = fields.field(named: name) else {
            throw FilterError(message: "unknown sort field \(FilterError.quoted(name)) in term #\(number)")
        }
        return .field(field, direction)
    }

    /// `text` without leading and trailing whitespace (including newlines).
    private static func trimmed(_ text: Substring) -> Substring {
        var result = text
        while let first = result.first, first.isWhitespace { result = result.dropFirst() }
        while let last = result.last, last.isWhitespace { result = result.dropLast() }
        return result
    }

    // MARK: SQL

    /// The `ORDER BY` fragment (without the keywords), e.g. `"created" DESC, "id" ASC`;
    /// the empty string when ``isEmpty``.
    public func sql() -> String {
        keys.map { key in
            switch key {
            case .random:
                return "RANDOM()"
            case .field(let field, let direction):
                return field.quotedColumn + (direction == .descending ? " DESC" : " ASC")
            }
        }.joined(separator: ", ")
    }
}
