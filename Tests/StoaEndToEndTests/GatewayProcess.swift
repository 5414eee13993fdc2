import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `stoa gateway` child process on free loopback ports (the client port and the admin
/// listener), joined to nodes' gossip ports. The ports are read from its startup log. Always
/// stop it (``kill(signal:)``).
final class GatewayProcess: @unchecked Sendable {
    private(set) var port = 0
    private(set) var adminPort = 0
    private let child: LoggedProcess
    var process: Process { child.process }

    init(join: [Int], clusterKey: String = "e2e-cluster-key", extraArguments: [String] = []) {
        child = LoggedProcess(arguments: ["gateway", "--http", "127.0.0.1:0", "--admin-http", "127.0.0.1:0",
                                          "--join", join.map { "127.0.0.1:\($0)" }.joined(separator: ","),
                                          "--cluster-key", clusterKey, "--token-secret", "e2e-secret"] + extraArguments)
    }

    /// Starts the process and waits (at most `timeout`) until it logs both ports.
    func start(timeout: TimeInterval = 30) throws {
        try child.start(timeout: timeout) { text in
            guard let http = LoggedProcess.port(after: LoggedProcess.httpMarker, in: text),
                  let admin = LoggedProcess.port(after: Self.adminMarker, in: text) else { return false }
            port = http
            adminPort = admin
            return true
        }
    }

    static let adminMarker = "Admin pages listening on 127.0.0.1:"

    var logText: String { child.text }
    var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The admin listener: `/_/`, `/api/gateway`, `/metrics`.
    var adminURL: String { "http://127.0.0.1:\(adminPort)" }

    /// Sends `signal` and waits for the process to exit.
    func kill(signal: Int32) { child.kill(signal: signal) }

    deinit { kill(signal: SIGKILL) }

    /// The node rows of `/api/gateway`, by name.
    func nodes() async throws -> [String: [String: Any]] {
        let rows = try await HTTPJSON(base: adminURL).send("GET", "/api/gateway").json["nodes"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: rows.compactMap { row in (row["name"] as? String).map { ($0, row) } })
    }

    /// Waits until the gateway routes to every one of `names` (alive, not ejected).
    func waitUntilRouting(_ names: [String], timeout: Duration = .seconds(20)) async throws -> Bool {
        try await eventually(timeout: timeout) {
            let nodes = try await self.nodes()
            return names.allSatisfy { nodes[$0]?["state"] as? String == "alive" && nodes[$0]?["ejected"] as? Bool == false }
        }
    }
}

/// One HTTP exchange with its headers, for tests that look at them.
struct HTTPExchange {
    let status: Int
    let headers: [String: String]
    let body: Data

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }

    static func send(_ session: URLSession, _ method: String, _ url: String, token: String? = nil, headers: [String: String] = [:], json: [String: Any]? = nil) async throws -> HTTPExchange {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let token { request.setValue(token, forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] { fields[String(describing: name).lowercased()] = String(describing: value) }
        return HTTPExchange(status: http?.statusCode ?? 0, headers: fields, body: data)
    }
}
