import StoaCore
import StoaStore

/// What the HTTP controllers need from storage. ``StoaDatabase`` is the production
/// implementation; the protocol keeps controllers testable over any store.
public protocol RecordRepository: Sendable {
    func create(_ schema: CollectionSchema, id: String, fields: [String: FieldValue], tags: [String], unique: [String]) async throws -> StoredRecord
    func update(_ schema: CollectionSchema, id: String, owner: String?, fields: [String: FieldValue], tags: TagEdit?, unique: [String]) async throws -> StoredRecord
    @discardableResult
    func delete(_ schema: CollectionSchema, id: String, owner: String?) async throws -> StoredRecord
    func record(_ schema: CollectionSchema, id: String, owner: String?) async throws -> StoredRecord?
    func list(_ schema: CollectionSchema, query: ListQuery) async throws -> ListPage
    func user(email: String) async throws -> StoredRecord?
    func usersDisplaced(from email: String) async throws -> [StoredRecord]
    /// ``user(email:)`` and ``usersDisplaced(from:)`` in any auth collection.
    func account(_ schema: CollectionSchema, email: String) async throws -> StoredRecord?
    func accountsDisplaced(_ schema: CollectionSchema, from email: String) async throws -> [StoredRecord]
}

extension StoaDatabase: RecordRepository {}
