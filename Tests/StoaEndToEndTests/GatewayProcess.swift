import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `stoa gateway` child process on a free loopback port, joined to nodes' gossip ports. The
/// port is read from its startup log. Always stop it (``kill(signal:)``).
final class GatewayProcess: @unchecked Sendable {
    let process = Process()
    private(set) var port = 0
    private let logPipe = Pipe()
    private var log = Data()
    private let lock = NSLock()

    init(join: [Int], clusterKey: String = "e2e-cluster-key", extraArguments: [String] = []) {
        process.executableURL = NodeProcess.binary
        process.arguments = ["gateway", "--http", "127.0.0.1:0", "--join", join.map { "127.0.0.1:\($0)" }.joined(separator: ","),
                             "--cluster-key", clusterKey, "--token-secret", "e2e-secret"] + extraArguments
        process.standardError = logPipe
        process.standardOutput = logPipe
    }

    func start(timeout: TimeInterval = 30) throws {
        logPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.lock.withLock { self.log.append(chunk) }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        let marker = "Server started and listening on 127.0.0.1:"
        while Date() < deadline, process.isRunning {
            let text = logText
            if let range = text.range(of: marker), let port = Int(text[range.upperBound...].prefix(while: \.isNumber)) {
                self.port = port
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(signal: SIGKILL)
        throw NodeProcessError.didNotStart(logText)
    }

    var logText: String { lock.withLock { String(decoding: log, as: UTF8.self) } }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    func kill(signal: Int32) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    deinit { kill(signal: SIGKILL) }

    /// The node rows of `/api/gateway`, by name.
    func nodes() async throws -> [String: [String: Any]] {
        let rows = try await HTTPJSON(base: baseURL).send("GET", "/api/gateway").json["nodes"] as? [[String: Any]] ?? []
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
