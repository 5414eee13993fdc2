import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import StoaStore

/// Turns every error a handler throws into PocketBase's error envelope, so clients always get
/// `{data,message,status}`: unknown routes are 404, oversize bodies 413, a body NIO's HTTP
/// decoder cannot parse (a bad chunk) 400, store errors their documented status, anything
/// unexpected a logged 500 that reveals nothing.
public struct PBErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PBError {
            throw error
        } catch let error as StoreError {
            throw PBError(storeError: error)
        } catch is NIOTooManyBytesError {
            throw PBError.tooLarge
        } catch is HTTPParserError {
            // The connection's HTTPProtocolErrorHandler has usually answered already; never a 500.
            throw PBError.badRequest()
        } catch let error as HTTPError {
            throw PBError(httpError: error)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw PBError.internalError
        }
    }
}

extension PBError {
    init(storeError: StoreError) {
        switch storeError {
        case .notFound:
            self = .notFound
        case .idTaken:
            self = .badRequest("Failed to create record.", data: ["id": .init(code: "validation_not_unique", message: "Value must be unique.")])
        case .notUnique(let field):
            self = .badRequest("Failed to create record.", data: [field: .init(code: "validation_not_unique", message: "Value must be unique.")])
        case .invalidQuery(let message):
            self = .badRequest(message)
        case .nodeNameMismatch, .backupDestinationExists:
            self = .internalError
        }
    }

    init(httpError: HTTPError) {
        switch httpError.status {
        case .notFound: self = .notFound
        case .contentTooLarge: self = .tooLarge
        case .methodNotAllowed: self = PBError(.methodNotAllowed, "Method Not Allowed.")
        default: self = PBError(httpError.status, httpError.body ?? httpError.status.reasonPhrase)
        }
    }
}
