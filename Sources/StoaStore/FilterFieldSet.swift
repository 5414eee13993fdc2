// MARK: - FilterFieldSet

/// The whitelist of fields a client may name in a `filter` or `sort` query
/// parameter, mapping each public name to its SQL column and value kind.
///
/// Contract:
/// - Only names listed here are accepted by ``RecordFilter/parse(_:fields:)``
///   and ``RecordSort/parse(_:fields:)``; anything else is a ``FilterError``.
/// - Names are matched case-sensitively.
/// - Column names are trusted (they come from the server, not the client);
///   they are always emitted double-quoted, with embedded `"` doubled.
/// - If two fields share a name, the last one wins.
public struct FilterFieldSet: Sendable, Equatable {

    // MARK: Kind

    /// How a column's values are stored, which decides how `null`/empty
    /// comparisons and literals are translated.
    public enum Kind: Sendable, Equatable {
        /// Text stored NOT NULL, `''` meaning empty.
        case text
        /// A numeric column (INTEGER or REAL affinity).
        case number
        /// A boolean stored as integer `0`/`1`.
        case bool
        /// A date-time stored as text such as `2026-11-24 18:04:01.858Z`.
        case date
        /// JSON stored as text (e.g. an array of strings); compared as raw text.
        case json
    }

    // MARK: Field

    /// One whitelisted field.
    public struct Field: Sendable, Equatable {
        /// The name a client uses in `filter`/`sort`.
        public let name: String
        /// The SQL column the name maps to.
        public let column: String
        /// How the column's values are stored.
        public let kind: Kind

        /// Creates a field; `column` defaults to `name`.
        public init(name: String, column: String? = nil, kind: Kind) {
            self.name = name
            self.column = column ?? name
            self.kind = kind
        }

        /// The column as a double-quoted SQL identifier.
        var quotedColumn: String {
            var quoted = "\""
            for character in column {
                quoted.append(character)
                if character == "\"" { quoted.append("\"") }
            }
            return quoted + "\""
        }
    }

    // MARK: Storage

    private let byName: [String: Field]

    /// The whitelisted fields, in declaration order (duplicates removed, last wins).
    public let fields: [Field]

    /// Creates a whitelist from `fields`.
    public init(_ fields: [Field]) {
        var byName: [String: Field] = [:]
        var order: [String] = []
        for field in fields {
            if byName[field.name] == nil { order.append(field.name) }
            byName[field.name] = field
        }
        self.byName = byName
        self.fields = order.compactMap { byName[$0] }
    }

    /// The field a client may refer to as `name`, if whitelisted.
    public func field(named name: String) -> Field? {
        byName[name]
    }
}

// MARK: - Presets

extension FilterFieldSet {
    /// The fields of the `quotes` collection: `id`, `content`, `author`,
    /// `source`, `notes`, `userId` (text), `tags` (JSON array of strings),
    /// `created`, `updated` (date text). Column names equal field names.
    public static let quotes = FilterFieldSet([
        Field(name: "id", kind: .text),
        Field(name: "content", kind: .text),
        Field(name: "author", kind: .text),
        Field(name: "source", kind: .text),
        Field(name: "notes", kind: .text),
        Field(name: "userId", kind: .text),
        Field(name: "tags", kind: .json),
        Field(name: "created", kind: .date),
        Field(name: "updated", kind: .date),
    ])
}
