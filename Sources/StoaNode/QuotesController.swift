import Foundation
import Hummingbird
import StoaCore
import StoaStore

/// The `quotes` collection's Records API. Access rule on every operation: the caller must be
/// authenticated and own the record (`userId = @request.auth.id`); another user's record is a
/// 404, and a guest's list is empty. A superuser passes every rule: it lists, views, updates and
/// deletes any quote, and creates one for the user its `userId` names. A quote's owner is fixed
/// at creation (replication keeps a lineage per owner), so `userId` never changes, for anyone.
struct QuotesController<Repository: RecordRepository>: Sendable {
    let repository: Repository
    let schema = CollectionSchema.quotes

    func addRoutes(to group: RouterGroup<StoaRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":id", use: view)
        group.patch(":id", use: update)
        group.delete(":id", use: delete)
    }

    @Sendable func create(_ request: Request, context: StoaRequestContext) async throws -> Response {
        var request = request
        let object = try RecordInput.decodeObject(try await request.bodyData(context: context))
        guard let identity = context.identity, identity.isUser || identity.isSuperuser else {
            throw PBError.badRequest("Failed to create record.")
        }
        var input = RecordInput(object, schema: schema, creating: true, required: ["content"])
        switch input.fields["userId"] {
        case nil, .string("")?:
            if identity.isSuperuser {
                input.errors["userId"] = .required
            } else {
                input.fields["userId"] = .string(identity.userID)
            }
        case .string(identity.userID)? where identity.isUser:
            break
        case .string(let userId)? where identity.isSuperuser:
            let owner = userId.utf8.contains(0) || !RecordID.isValid(userId) ? nil : try await repository.record(.users, id: userId, owner: nil)
            if owner == nil {
                input.errors["userId"] = .init(code: "validation_missing_rel_records", message: "Failed to find all relation records with the provided ids.")
            }
        default:
            input.errors["userId"] = .init(code: "validation_invalid_value", message: "Must be the id of the authenticated user.")
        }
        if input.createTags.count > RecordInput.maxTags {
            input.errors["tags"] = .init(code: "validation_length_out_of_range", message: "Must have at most \(RecordInput.maxTags) items.")
        }
        guard input.errors.isEmpty else { throw PBError.badRequest("Failed to create record.", data: input.errors) }
        var rng = SystemRandomNumberGenerator()
        let record = try await repository.create(
            schema, id: input.id ?? RecordID.generate(using: &rng), fields: input.fields, tags: input.createTags, unique: []
        )
        return try await .json(shaped(record, request: request, context: context))
    }

    @Sendable func list(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let query = FormQuery(request.uri.query)
        let viewer = Self.viewer(context)
        let parameters = try ListParameters(query, schema: schema, owner: viewer?.owner)
        let page = viewer == nil ? parameters.emptyPage : try await repository.list(schema, query: parameters.query)
        let expanded = try await RecordExpansion(query.get("expand"), schema: schema)
            .expand(page.items, viewer: viewer?.owner, superuser: context.identity?.isSuperuser == true, repository: repository)
        return .json(ListEnvelope(
            items: page.items.map { RecordView(record: $0, schema: schema, fields: parameters.fields, showEmail: false, expand: expanded?[$0.id]) },
            page: page.page, perPage: page.perPage, totalItems: page.totalItems, totalPages: page.totalPages
        ))
    }

    @Sendable func view(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let id = try recordID(context)
        guard let viewer = Self.viewer(context), let record = try await repository.record(schema, id: id, owner: viewer.owner) else {
            throw PBError.notFound
        }
        return try await .json(shaped(record, request: request, context: context))
    }

    @Sendable func update(_ request: Request, context: StoaRequestContext) async throws -> Response {
        var request = request
        let id = try recordID(context)
        let object = try RecordInput.decodeObject(try await request.bodyData(context: context))
        guard let viewer = Self.viewer(context) else { throw PBError.notFound }
        let owner = viewer.owner
        // A record the caller cannot see is a 404 even when the body is invalid.
        guard let existing = try await repository.record(schema, id: id, owner: owner) else { throw PBError.notFound }
        var input = RecordInput(object, schema: schema, creating: false, required: ["content"])
        if let userId = input.fields["userId"], userId != existing.values["userId"] {
            input.errors["userId"] = owner == nil
                ? .init(code: "validation_invalid_value", message: "The owner of a quote cannot be changed.")
                : .init(code: "validation_invalid_value", message: "Must be the id of the authenticated user.")
        }
        if case .modify(let add, let remove)? = input.tagEdit,
           Set(existing.tags).union(add).subtracting(remove).count > RecordInput.maxTags {
            input.errors["tags"] = .init(code: "validation_length_out_of_range", message: "Must have at most \(RecordInput.maxTags) items.")
        }
        guard input.errors.isEmpty else { throw PBError.badRequest("Failed to update record.", data: input.errors) }
        let record = try await repository.update(schema, id: id, owner: owner, fields: input.fields, tags: input.tagEdit, unique: [])
        return try await .json(shaped(record, request: request, context: context))
    }

    @Sendable func delete(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let id = try recordID(context)
        guard let viewer = Self.viewer(context) else { throw PBError.notFound }
        try await repository.delete(schema, id: id, owner: viewer.owner)
        return Response(status: .noContent)
    }

    /// One record as the answer of a view, create or update: narrowed by `fields`, with the
    /// relations `expand` names (see ``RecordExpansion``).
    private func shaped(_ record: StoredRecord, request: Request, context: StoaRequestContext) async throws -> RecordView {
        let query = FormQuery(request.uri.query)
        let fields = try FieldSelection.parse(query.get("fields"))
        let expanded = try await RecordExpansion(query.get("expand"), schema: schema)
            .expand([record], viewer: Self.viewer(context)?.owner, superuser: context.identity?.isSuperuser == true, repository: repository)
        return RecordView(record: record, schema: schema, fields: fields, showEmail: false, expand: expanded?[record.id])
    }

    /// The records the caller may see: a user its own (`owner` its id), a superuser every one
    /// (`owner` nil); nil for a guest or an account of another collection.
    static func viewer(_ context: StoaRequestContext) -> Viewer? {
        guard let identity = context.identity else { return nil }
        if identity.isSuperuser { return Viewer(owner: nil) }
        return identity.isUser ? Viewer(owner: identity.userID) : nil
    }

    struct Viewer {
        /// The owner whose records the caller sees, or nil for every record.
        let owner: String?
    }

    /// The `:id` of the path. An id holding U+0000 names no record (SQLite's C interface would
    /// read it only up to that character): 404.
    private func recordID(_ context: StoaRequestContext) throws -> String {
        let id = try context.parameters.require("id")
        guard !id.utf8.contains(0) else { throw PBError.notFound }
        return id
    }
}
