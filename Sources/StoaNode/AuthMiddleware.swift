import Hummingbird

/// Resolves the caller from the `Authorization` header (with or without `Bearer `) and applies
/// the node's body limit. A missing, empty or invalid token makes the caller a guest, as in
/// PocketBase; endpoints that require auth answer 401 themselves.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = StoaRequestContext
    let tokens: TokenService
    let maxBodyBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.maxUploadSize = maxBodyBytes
        context.identity = await tokens.identity(fromAuthorization: request.headers[.authorization])
        return try await next(request, context)
    }
}
