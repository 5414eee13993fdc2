import Foundation
import Hummingbird
import HummingbirdTesting
import StoaNode
import StoaStore
import Testing

/// A decoded test response: status, JSON object (or nil), raw body.
struct APIResponse {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: Data

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
    var message: String? { json["message"] as? String }
    func dataCode(_ field: String) -> String? { ((json["data"] as? [String: Any])?[field] as? [String: Any])?["code"] as? String }
}

/// A client for one in-process node (no sockets) with PocketBase-shaped helpers.
struct API {
    let client: any TestClientProtocol

    func request(_ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: Any? = nil, raw: [UInt8]? = nil, headers extra: HTTPFields = [:]) async throws -> APIResponse {
        var headers = extra
        if let token { headers[.authorization] = token }
        var body: ByteBuffer?
        if let json { body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)) }
        if let raw { body = ByteBuffer(bytes: raw) }
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
            APIResponse(status: response.status, headers: response.headers, body: Data(response.body.readableBytesView))
        }
    }

    /// Signs up and logs in a fresh user; returns (id, token).
    func user(_ email: String, password: String = "correct horse") async throws -> (id: String, token: String) {
        let signUp = try await request(.post, "/api/collections/users/records", json: ["email": email, "password": password, "passwordConfirm": password, "name": "N"])
        #expect(signUp.status == .ok, "sign-up: \(String(decoding: signUp.body, as: UTF8.self))")
        let auth = try await request(.post, "/api/collections/users/auth-with-password", json: ["identity": email, "password": password])
        #expect(auth.status == .ok)
        return (signUp.json["id"] as? String ?? "", auth.json["token"] as? String ?? "")
    }

    func createQuote(_ token: String, _ fields: [String: Any]) async throws -> APIResponse {
        try await request(.post, "/api/collections/quotes/records", token: token, json: fields)
    }

    func count(_ token: String) async throws -> Int {
        try await request(.get, "/api/collections/quotes/records", token: token).json["totalItems"] as? Int ?? -99
    }
}

/// Runs `body` against a fresh in-memory node: in process without sockets, or `live` on a
/// loopback port (`API.client.port`) with the node's services (realtime) running.
func withNode(maxBodyBytes: Int = 64 * 1024, live: Bool = false, loginThrottleClock: (@Sendable () -> UInt64)? = nil,
              _ body: @Sendable (API) async throws -> Void) async throws {
    let database = try StoaDatabase.inMemory(nodeName: "n1")
    var configuration = NodeConfiguration(
        name: "n1", dataDirectory: "/nonexistent", httpPort: 0, maxBodyBytes: maxBodyBytes, tokenSecret: "test-secret", bcryptCost: 4
    )
    configuration.loginThrottleClock = loginThrottleClock
    let app = try await buildApplication(configuration: configuration, database: database)
    try await app.test(live ? .live : .router) { client in try await body(API(client: client)) }
}
