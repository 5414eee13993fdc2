import Foundation
import Hummingbird
import StoaCore
import StoaStore

/// Stoa's delta sync for devices that go offline, for the authenticated user's quotes.
///
/// - `GET /api/sync?since=CURSOR[&perPage=N]`: the records changed since the cursor (live ones
///   in full, deleted ones by id) and the cursor to pass next; `hasMore` asks for another page.
///   No cursor means everything. The cursor is a version vector, valid on every node.
/// - `POST /api/sync`: a batch of the device's offline edits, merged under the CRDT rules with
///   the device's timestamps; resending a batch changes nothing. All or nothing: an invalid
///   edit is a 400 (or 404 for a record the user does not own) and nothing is written.
struct SyncController<Store: SyncRepository>: Sendable {
    let store: Store
    static var defaultPerPage: Int { 500 }
    static var maxPerPage: Int { 1000 }

    func addRoutes(to router: Router<StoaRequestContext>) {
        router.get("api/sync", use: pull)
        router.post("api/sync", use: push)
    }

    @Sendable func pull(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let user = try Self.user(context)
        let query = FormQuery(request.uri.query)
        let since: SyncPosition
        do {
            since = try SyncCursor.decode(query.get("since"))
        } catch {
            throw PBError.badRequest("Invalid sync cursor.", data: ["since": .init(code: "validation_invalid_cursor", message: "Must be a cursor returned by /api/sync.")])
        }
        var perPage = Self.defaultPerPage
        if let text = query.get("perPage") {
            guard let value = Int(text), value > 0 else {
                throw PBError.badRequest("Invalid perPage.", data: ["perPage": .init(code: "validation_invalid_value", message: "Must be a positive integer.")])
            }
            perPage = min(value, Self.maxPerPage)
        }
        let page = try await store.syncPage(owner: user, since: since, limit: perPage)
        return try .json(PullResponse(
            items: page.records.map { RecordView(record: $0, schema: .quotes, only: nil, showEmail: false) },
            deleted: page.deleted, cursor: SyncCursor.encode(page.cursor), hasMore: page.hasMore
        ))
    }

    @Sendable func push(_ request: Request, context: StoaRequestContext) async throws -> Response {
        var request = request
        let user = try Self.user(context)
        let input = DeviceBatchInput(try RecordInput.decodeObject(try await request.bodyData(context: context)), owner: user)
        guard input.errors.isEmpty else { throw PBError.badRequest("Failed to sync the changes.", data: input.errors) }
        let result: DeviceSyncResult
        do {
            result = try await store.applyDeviceEdits(input.edits, owner: user)
        } catch let error as DeviceEditError {
            switch error.reason {
            case .notFound:
                throw PBError(.notFound, "The requested resource wasn't found.", data: ["changes.\(error.index).id": .init(code: "validation_not_found", message: "No record with this id is yours.")])
            case .required(let field):
                throw PBError.badRequest("Failed to sync the changes.", data: ["changes.\(error.index).\(field)": .required])
            case .timeInFuture:
                throw PBError.badRequest("Failed to sync the changes.", data: ["changes.\(error.index).time": .init(code: "validation_time_in_future", message: "Is too far ahead of the server's clock.")])
            }
        }
        return try .json(PushResponse(
            items: result.records.map { RecordView(record: $0, schema: .quotes, only: nil, showEmail: false) },
            deleted: result.deleted, applied: result.applied, unchanged: result.unchanged
        ))
    }

    static func user(_ context: StoaRequestContext) throws -> String {
        guard let identity = context.identity, identity.collectionID == CollectionSchema.users.id else { throw PBError.unauthorized }
        return identity.userID
    }

    struct PullResponse: Encodable {
        let items: [RecordView]
        let deleted: [String]
        let cursor: String
        let hasMore: Bool
    }

    struct PushResponse: Encodable {
        let items: [RecordView]
        let deleted: [String]
        let applied: Int
        let unchanged: Int
    }
}

/// What ``SyncController`` needs from storage (``StoaDatabase`` in production).
protocol SyncRepository: Sendable {
    func syncPage(owner: String, since: SyncPosition, limit: Int) async throws -> SyncPage
    func applyDeviceEdits(_ edits: [DeviceEdit], owner: String) async throws -> DeviceSyncResult
}

extension StoaDatabase: SyncRepository {}
