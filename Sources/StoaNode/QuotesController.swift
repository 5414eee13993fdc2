import Foundation
import Hummingbird
import StoaCore
import StoaStore

/// The `quotes` collection's Records API. Access rule on every operation: the caller must be
/// authenticated and own the record (`userId = @request.auth.id`); another user's record is a
/// 404, and a guest's list is empty.
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
        guard let identity = context.identity, identity.collectionID == CollectionSchema.users.id else {
            throw PBError.badRequest("Failed to create record.")
        }
        var input = RecordInput(object, schema: schema, creating: true, required: ["content"])
        switch input.fields["userId"] {
        case nil, .string("")?:
            input.fields["userId"] = .string(identity.userID)
        case .string(identity.userID)?:
            break
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
        return try .json(view(record, context: context, only: RecordView.fieldSelection(FormQuery(request.uri.query).get("fields"))))
    }

    @Sendable func list(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let parameters = try ListParameters(FormQuery(request.uri.query), schema: schema, owner: context.identity?.userID)
        let page = context.identity == nil ? parameters.emptyPage : try await repository.list(schema, query: parameters.query)
        return try .json(ListEnvelope(
            items: page.items.map { view($0, context: context, only: parameters.fields) },
            page: page.page, perPage: page.perPage, totalItems: page.totalItems, totalPages: page.totalPages
        ))
    }

    @Sendable func view(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let owner = context.identity?.userID, let record = try await repository.record(schema, id: id, owner: owner) else {
            throw PBError.notFound
        }
        return try .json(view(record, context: context, only: RecordView.fieldSelection(FormQuery(request.uri.query).get("fields"))))
    }

    @Sendable func update(_ request: Request, context: StoaRequestContext) async throws -> Response {
        var request = request
        let id = try context.parameters.require("id")
        let object = try RecordInput.decodeObject(try await request.bodyData(context: context))
        guard let owner = context.identity?.userID else { throw PBError.notFound }
        var input = RecordInput(object, schema: schema, creating: false, required: ["content"])
        if let userId = input.fields["userId"], userId != .string(owner) {
            input.errors["userId"] = .init(code: "validation_invalid_value", message: "Must be the id of the authenticated user.")
        }
        // A record the caller cannot see is a 404 even when the body is invalid.
        guard let existing = try await repository.record(schema, id: id, owner: owner) else { throw PBError.notFound }
        if case .modify(let add, let remove)? = input.tagEdit,
           Set(existing.tags).union(add).subtracting(remove).count > RecordInput.maxTags {
            input.errors["tags"] = .init(code: "validation_length_out_of_range", message: "Must have at most \(RecordInput.maxTags) items.")
        }
        guard input.errors.isEmpty else { throw PBError.badRequest("Failed to update record.", data: input.errors) }
        let record = try await repository.update(schema, id: id, owner: owner, fields: input.fields, tags: input.tagEdit, unique: [])
        return try .json(view(record, context: context, only: RecordView.fieldSelection(FormQuery(request.uri.query).get("fields"))))
    }

    @Sendable func delete(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let owner = context.identity?.userID else { throw PBError.notFound }
        try await repository.delete(schema, id: id, owner: owner)
        return Response(status: .noContent)
    }

    private func view(_ record: StoredRecord, context: StoaRequestContext, only: Set<String>? = nil) -> RecordView {
        RecordView(record: record, schema: schema, only: only, showEmail: false)
    }
}
