import Hummingbird

/// `GET /api/health`, as PocketBase answers it.
struct HealthController: Sendable {
    struct Health: Encodable {
        let code = 200
        let message = "API is healthy."
        let data: [String: String] = [:]
    }

    func addRoutes(to router: Router<StoaRequestContext>) {
        router.get("api/health") { _, _ in try Response.json(Health()) }
        router.head("api/health") { _, _ in Response(status: .ok) }
    }
}
