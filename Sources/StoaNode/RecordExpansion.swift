import Foundation
import StoaStore

/// PocketBase's `expand` parameter for the relations Stoa has: a quote's `userId` (its owner,
/// a `users` record).
///
/// As in PocketBase (`core/record_query_expand.go`, checked against 0.40.6): the parameter is a
/// comma-separated list of relation paths, normalized as `normalizeExpands` does (spaces
/// removed, leading and trailing dots trimmed, empty paths dropped, a path that a longer one
/// extends dropped: `userId,userId.x` is `userId.x`). A path expands its relation when its
/// first name is a relation of the collection, case-sensitively, and it has no deeper part:
/// `users` has no relations, so a deeper part fails, and with it the whole path (the caller
/// always sees the related user, its own record, so PocketBase's exception for an empty
/// relation does not arise). Other paths expand nothing and are no error. A record gets an
/// `expand` key as soon as one path expands, `{}` when the related record is not one the caller
/// may view (the `users` view rule: only one's own record), `{"userId": {...}}` when it is,
/// shown as that caller sees it (email included for its owner).
struct RecordExpansion: Sendable {
    /// Relation fields by collection name, and the collection each points to.
    static let relations: [String: [String: CollectionSchema]] = ["quotes": ["userId": .users]]

    /// The relations asked for, known to the collection; empty when nothing is expanded.
    let fields: [String: CollectionSchema]

    /// Reads `parameter` for `schema`.
    init(_ parameter: String?, schema: CollectionSchema) {
        var fields: [String: CollectionSchema] = [:]
        let known = Self.relations[schema.name] ?? [:]
        let paths = (parameter ?? "").split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.replacingOccurrences(of: " ", with: "").trimmingCharacters(in: CharacterSet(charactersIn: ".")) }
            .filter { !$0.isEmpty }
        for path in paths where !paths.contains(where: { $0.hasPrefix(path + ".") }) {
            guard !path.contains("."), let target = known[path] else { continue }
            fields[path] = target
        }
        self.fields = fields
    }

    var isEmpty: Bool { fields.isEmpty }

    /// The `expand` value of each record (by record id), nil for every record when nothing is
    /// expanded. Related records are looked up once each, as `viewer` may see them (a
    /// `superuser` sees every one, with its email).
    func expand(
        _ records: [StoredRecord], viewer: String?, superuser: Bool = false, repository: some RecordRepository
    ) async throws -> [String: [String: RecordView]]? {
        guard !fields.isEmpty else { return nil }
        var found: [String: RecordView?] = [:]  // "collection/id" -> view, nil when not visible
        var result: [String: [String: RecordView]] = [:]
        for record in records {
            var expanded: [String: RecordView] = [:]
            for (field, target) in fields {
                guard case .string(let id)? = record.values[field], !id.isEmpty else { continue }
                let key = target.name + "/" + id
                if found[key] == nil {
                    found[key] = .some(try await Self.view(target, id: id, viewer: viewer, superuser: superuser, repository: repository))
                }
                if case .some(.some(let view)) = found[key] { expanded[field] = view }
            }
            result[record.id] = expanded
        }
        return result
    }

    /// The related record `id` of `schema` as `viewer` may see it (the collection's view rule:
    /// `users` shows a user only their own record), nil when not visible.
    static func view(
        _ schema: CollectionSchema, id: String, viewer: String?, superuser: Bool = false, repository: some RecordRepository
    ) async throws -> RecordView? {
        guard superuser || viewer != nil, let record = try await repository.record(schema, id: id, owner: superuser ? nil : viewer) else { return nil }
        let showEmail = superuser || schema.name != "users" || record.id == viewer || record.values["emailVisibility"] == .bool(true)
        return RecordView(record: record, schema: schema, only: nil, showEmail: showEmail)
    }
}
