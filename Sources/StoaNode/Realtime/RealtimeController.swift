import Foundation
import Hummingbird
import ServiceLifecycle

/// PocketBase's realtime API: `GET /api/realtime` opens an SSE stream whose first event is
/// `PB_CONNECT` with the client id; `POST /api/realtime` with `{clientId, subscriptions}` sets
/// that client's subscriptions and, with the request's token, who it is (204).
struct RealtimeController: Sendable {
    let broker: RealtimeBroker

    func addRoutes(to router: Router<StoaRequestContext>) {
        router.get("api/realtime", use: connect)
        router.post("api/realtime", use: subscribe)
    }

    @Sendable func connect(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let broker = self.broker
        let (id, messages) = broker.connect()
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store", .connection: "keep-alive"],
            body: ResponseBody { writer in
                // The stream ends when the broker drops the client (slow, or shutting down); a
                // write fails when the client has gone. Either way the client is forgotten.
                do {
                    try await withGracefulShutdownHandler {
                        for await message in messages {
                            try await writer.write(message)
                            broker.written(id, bytes: message.readableBytes)
                        }
                    } onGracefulShutdown: {
                        broker.disconnect(id)
                    }
                } catch {
                    broker.disconnect(id)
                    throw error
                }
                broker.disconnect(id)
                try await writer.finish(nil)
            }
        )
    }

    @Sendable func subscribe(_ request: Request, context: StoaRequestContext) async throws -> Response {
        var request = request
        let object = try RecordInput.decodeObject(try await request.bodyData(context: context))
        var errors: [String: PBError.FieldError] = [:]
        var clientID = ""
        switch object["clientId"] {
        case .string(let id)? where !id.isEmpty && id.count <= 255: clientID = id
        case .string(let id)? where id.count > 255: errors["clientId"] = .maxLength(255)
        case nil, .null?, .string?: errors["clientId"] = .required
        default: errors["clientId"] = .init(code: "validation_invalid_type", message: "Must be a string.")
        }
        var names: [String] = []
        switch object["subscriptions"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard case .string(let name) = item, name.count <= RealtimeSubscription.maxLength,
                      !name.contains(where: { $0 == "\n" || $0 == "\r" })
                else {
                    errors["subscriptions"] = .init(code: "validation_invalid_value", message: "Must be an array of strings of at most \(RealtimeSubscription.maxLength) characters, without line breaks.")
                    break
                }
                names.append(name)
            }
            if names.count > RealtimeSubscription.maxCount {
                errors["subscriptions"] = .init(code: "validation_length_out_of_range", message: "Must have at most \(RealtimeSubscription.maxCount) items.")
            }
        default:
            errors["subscriptions"] = .init(code: "validation_invalid_type", message: "Must be an array of strings.")
        }
        guard errors.isEmpty else { throw PBError.badRequest("Failed to load the submitted data due to invalid formatting.", data: errors) }
        do {
            try broker.subscribe(client: clientID, identity: context.identity, subscriptions: names)
        } catch .unknownClient {
            throw PBError(.notFound, "Missing or invalid client id.")
        } catch .identityMismatch {
            throw PBError(.forbidden, "The current and the previous request authorization don't match.")
        }
        return Response(status: .noContent)
    }
}
