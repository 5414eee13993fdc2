import StoaCore

/// The fields of one PocketBase collection as Stoa stores them: each user field is a column of
/// the collection's table (the materialized view of the records' CRDT state).
public struct CollectionSchema: Sendable {
    /// The kinds of field a collection may hold.
    public enum FieldKind: Sendable, Equatable {
        /// Text; stored NOT NULL with `''` for empty, as PocketBase does.
        case text
        /// Boolean; stored as 0/1.
        case bool
        /// The record's tags: a JSON array of strings backed by an add-wins set.
        case tags
    }

    public struct Field: Sendable {
        public let name: String
        public let kind: FieldKind
        /// Hidden fields (password hashes, token keys) are never returned by the API.
        public let hidden: Bool

        public init(_ name: String, _ kind: FieldKind, hidden: Bool = false) {
            self.name = name
            self.kind = kind
            self.hidden = hidden
        }
    }

    /// `quotes`, `users` or `_superusers`; also the table name.
    public let name: String
    /// PocketBase's `collectionId` for records of this collection.
    public let id: String
    /// User fields in column order (without `id`, `created`, `updated`).
    public let fields: [Field]
    /// The field whose value is the owning user's id (`userId` for quotes, `id` for users).
    public let ownerField: String
    /// A field whose value is unique in the collection cluster-wide (`email` for users): its
    /// column shows the value only on the record that holds it (the earliest created), and the
    /// record's claim stays in `claimed<Field>` (see ``StoaDatabase/resolveUnique(_:schema:values:)``).
    public let uniqueField: String?

    public func field(named name: String) -> Field? { fields.first { $0.name == name } }

    /// The field that holds the tags, if any.
    public var tagsField: Field? { fields.first { $0.kind == .tags } }

    /// Every column of the table, in `SELECT` order.
    public let columns: [String]
    /// ``columns`` quoted and comma separated, for `SELECT` (built once, not per query).
    let selectList: String
    /// The upsert that writes a record's materialized row (built once, not per write).
    let upsertSQL: String
    /// The fields a client may name in `filter` and `sort` (see ``filterFieldSet(_:)``).
    public let filterFields: FilterFieldSet
    /// The registers whose text value the materialized row holds in a column of the same name:
    /// the text fields and `created` (a live record's stored state leaves them out).
    let storedColumnFields: [String]
    /// `SELECT` of a record's stored state, its lineage's owner and those columns: `record_state`
    /// as `r` left joined with the collection's table as `q` (no row when deleted).
    let storedStateSelect: String

    public init(name: String, id: String, fields: [Field], ownerField: String, uniqueField: String? = nil) {
        self.name = name
        self.id = id
        self.fields = fields
        self.ownerField = ownerField
        self.uniqueField = uniqueField
        columns = ["id"] + fields.map(\.name) + ["created", "updated"]
        selectList = columns.map { "\"\($0)\"" }.joined(separator: ", ")
        let updates = columns.dropFirst().map { "\"\($0)\" = excluded.\"\($0)\"" }.joined(separator: ", ")
        let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        upsertSQL = "INSERT INTO \(name) (\(selectList)) VALUES (\(marks)) ON CONFLICT (id) DO UPDATE SET \(updates)"
        filterFields = Self.filterFieldSet(fields)
        // A unique field's column may be empty while the record claims a value: it is stored.
        storedColumnFields = fields.filter { $0.kind == .text && $0.name != uniqueField }.map(\.name) + ["created"]
        storedStateSelect = "SELECT r.collection, r.id, r.state, r.owner, " + storedColumnFields.map { "q.\"\($0)\"" }.joined(separator: ", ")
            + " FROM record_state r LEFT JOIN \(name) q ON q.id = r.id"
    }

    // MARK: - The two collections of the quote app

    public static let quotes = CollectionSchema(
        name: "quotes",
        id: "pbc_quotes0000001",
        fields: [
            Field("content", .text),
            Field("author", .text),
            Field("source", .text),
            Field("notes", .text),
            Field("tags", .tags),
            Field("userId", .text),
        ],
        ownerField: "userId"
    )

    public static let users = CollectionSchema(
        name: "users",
        id: "_pb_users_auth_",
        fields: [
            Field("email", .text),
            Field("emailVisibility", .bool),
            Field("verified", .bool),
            Field("name", .text),
            Field("avatar", .text),
            Field("passwordHash", .text, hidden: true),
            Field("tokenKey", .text, hidden: true),
        ],
        ownerField: "id",
        uniqueField: "email"
    )

    /// PocketBase's `_superusers` auth collection (0.23+, same collection id): accounts that pass
    /// every collection's rules. They replicate like users (one account per email cluster-wide);
    /// only a superuser, or `stoa superuser upsert` on a stopped node's data, creates one.
    public static let superusers = CollectionSchema(
        name: "_superusers",
        id: "pbc_3142635823",
        fields: [
            Field("email", .text),
            Field("emailVisibility", .bool),
            Field("verified", .bool),
            Field("passwordHash", .text, hidden: true),
            Field("tokenKey", .text, hidden: true),
        ],
        ownerField: "id",
        uniqueField: "email"
    )

    public static let all: [CollectionSchema] = [.quotes, .users, .superusers]

    /// The auth collection with that collection id (`users` or `_superusers`).
    public static func authCollection(id: String) -> CollectionSchema? {
        id == users.id ? .users : id == superusers.id ? .superusers : nil
    }

    public static func named(_ name: String) -> CollectionSchema? { all.first { $0.name == name } }
}

extension String {
    /// The string with its first character upper-cased (`email` → `Email`).
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
