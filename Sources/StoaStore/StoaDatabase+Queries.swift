import GRDB
import StoaCore

/// A page of a list query.
public struct ListQuery: Sendable {
    /// A WHERE fragment with `?` placeholders, or nil for all records.
    public var condition: (sql: String, arguments: [SQLValue])?
    /// An ORDER BY fragment (without the keywords), or nil for insertion order.
    public var order: String?
    /// When non-nil, only records owned by this user id.
    public var owner: String?
    /// 1-based page number.
    public var page: Int
    public var perPage: Int
    /// When true, no count is made and totals are reported as -1.
    public var skipTotal: Bool

    public init(condition: (sql: String, arguments: [SQLValue])? = nil, order: String? = nil, owner: String? = nil,
                page: Int = 1, perPage: Int = 30, skipTotal: Bool = false) {
        self.condition = condition
        self.order = order
        self.owner = owner
        self.page = page
        self.perPage = perPage
        self.skipTotal = skipTotal
    }
}

/// One page of records with PocketBase's totals (-1 when skipped).
public struct ListPage: Sendable {
    public var items: [StoredRecord]
    public var page: Int
    public var perPage: Int
    public var totalItems: Int
    public var totalPages: Int

    public init(items: [StoredRecord], page: Int, perPage: Int, totalItems: Int, totalPages: Int) {
        self.items = items
        self.page = page
        self.perPage = perPage
        self.totalItems = totalItems
        self.totalPages = totalPages
    }
}

extension SQLValue {
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let value): return value.databaseValue
        case .real(let value): return value.databaseValue
        case .text(let value): return value.databaseValue
        }
    }
}

extension StoaDatabase {
    /// Runs one of the request path's reads (an index lookup, one page and its count) on the
    /// calling thread, in a read transaction of its own. GRDB's async read would hand it to a
    /// reader's queue and back: two thread switches per request, which showed as the largest
    /// share of a get's CPU in profiles. On disk it uses ``RequestReaders`` (never waits for a
    /// connection); in memory the one connection, behind whatever write runs.
    func readHere<T>(_ body: (Database) throws -> T) throws -> T {
        if let requestReaders { return try requestReaders.read(body) }
        return try writer.read(body)
    }

    /// The live record with that id, or nil when there is none the owner may see.
    public func record(_ schema: CollectionSchema, id: String, owner: String?) async throws -> StoredRecord? {
        try readHere { db in
            guard let record = try self.fetchRecord(db, schema: schema, id: id), Self.owns(owner, record, schema) else { return nil }
            return record
        }
    }

    /// A user record found by email (case-insensitive), with hidden fields: the account that
    /// holds the address cluster-wide. An account whose claim to its address lost to an earlier
    /// one is found by its id instead (its way back in; see ``usersDisplaced(from:)``).
    public func user(email identity: String) async throws -> StoredRecord? {
        try await account(.users, email: identity)
    }

    /// ``user(email:)`` in any auth collection (`users`, `_superusers`).
    public func account(_ schema: CollectionSchema, email identity: String) async throws -> StoredRecord? {
        try readHere { db in
            let select = "SELECT \(schema.selectList) FROM \(schema.name)"
            if let row = try Row.fetchOne(db, sql: select + " WHERE email = ? COLLATE NOCASE LIMIT 1", arguments: [identity]) {
                return try self.storedRecord(row, schema: schema)
            }
            guard RecordID.isValid(identity),
                  let row = try Row.fetchOne(db, sql: select + " WHERE id = ? AND email = '' AND claimedEmail != ''", arguments: [identity])
            else { return nil }
            return try self.storedRecord(row, schema: schema)
        }
    }

    /// The accounts that claim `email` (case-insensitive) but do not hold it: created in
    /// another partition, or at the same moment on another node, after the account that holds it.
    public func usersDisplaced(from email: String) async throws -> [StoredRecord] {
        try await accountsDisplaced(.users, from: email)
    }

    /// ``usersDisplaced(from:)`` in any auth collection.
    public func accountsDisplaced(_ schema: CollectionSchema, from email: String) async throws -> [StoredRecord] {
        try readHere { db in
            try Row.fetchAll(
                db, sql: "SELECT \(schema.selectList) FROM \(schema.name) WHERE claimedEmail = ? COLLATE NOCASE AND email = '' ORDER BY created, id LIMIT 16",
                arguments: [email]
            ).map { try self.storedRecord($0, schema: schema) }
        }
    }

    /// Every account's claim to an email and whether it holds it: (id, claimed email, the email
    /// its row shows — empty when another account holds the address), ordered by id.
    public func emailClaims(_ schema: CollectionSchema = .users) async throws -> [(id: String, claimed: String, shown: String)] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, claimedEmail, email FROM \(schema.name) ORDER BY id").map { ($0[0], $0[1], $0[2]) }
        }
    }

    /// One page of live records matching the query, in one read transaction (items and totals agree).
    public func list(_ schema: CollectionSchema, query: ListQuery) async throws -> ListPage {
        try readHere { db in
            var clauses: [String] = []
            var arguments: [DatabaseValue] = []
            if let owner = query.owner {
                clauses.append("\"\(schema.ownerField)\" = ?")
                arguments.append(owner.databaseValue)
            }
            if let condition = query.condition {
                clauses.append("(\(condition.sql))")
                arguments.append(contentsOf: condition.arguments.map(\.databaseValue))
            }
            let whereSQL = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
            let orderSQL = " ORDER BY " + (query.order.map { "\($0), rowid" } ?? "rowid")
            let offset = (query.page - 1) * query.perPage
            // The common shapes (no filter, at most one sort key) are few: their compiled
            // statements are kept; filtered queries vary without bound and are compiled each time.
            let cacheable = query.condition == nil && !(query.order?.contains(",") ?? false)
            func statement(_ sql: String) throws -> Statement {
                try cacheable ? db.cachedStatement(sql: sql) : db.makeStatement(sql: sql)
            }
            let rows = try Row.fetchAll(
                statement("SELECT \(schema.selectList) FROM \(schema.name)\(whereSQL)\(orderSQL) LIMIT ? OFFSET ?"),
                arguments: StatementArguments(arguments + [query.perPage.databaseValue, offset.databaseValue])
            )
            let items = try rows.map { try self.storedRecord($0, schema: schema) }
            var totalItems = -1, totalPages = -1
            if !query.skipTotal {
                totalItems = try Int.fetchOne(statement("SELECT COUNT(*) FROM \(schema.name)\(whereSQL)"), arguments: StatementArguments(arguments)) ?? 0
                totalPages = (totalItems + query.perPage - 1) / query.perPage
            }
            return ListPage(items: items, page: query.page, perPage: query.perPage, totalItems: totalItems, totalPages: totalPages)
        }
    }
}
