import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `stoa node` child process on a loopback port chosen by the OS (`--http 127.0.0.1:0`); the
/// port is read from the node's startup log. Always stop it (``kill(signal:)``/``stop()``).
final class NodeProcess: @unchecked Sendable {
    let name: String
    let dataDirectory: URL
    private(set) var port = 0
    /// The gossip port, when started with `--gossip` (read from the log).
    private(set) var gossipPort = 0
    private let child: LoggedProcess
    var process: Process { child.process }

    /// The `stoa` executable built next to the test bundle.
    static var binary: URL {
        let testBundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBundle.deletingLastPathComponent()
        // On Linux the bundle is `<build>/stoaPackageTests.xctest`; on macOS the binary is inside `.xctest/Contents/MacOS`.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("stoa").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("stoa")
    }

    /// A cluster member: gossip on a free loopback port, joining `join` (gossip ports); with
    /// `clusterKey` nil the keys come in `extraArguments`.
    convenience init(
        name: String, dataDirectory: URL, clusterKey: String? = "e2e-cluster-key", join: [Int], gossipPort: Int = 0, httpPort: Int = 0,
        extraArguments: [String] = []
    ) {
        var arguments = ["--gossip", "127.0.0.1:\(gossipPort)"] + (clusterKey.map { ["--cluster-key", $0] } ?? []) + extraArguments
        if !join.isEmpty { arguments += ["--join", join.map { "127.0.0.1:\($0)" }.joined(separator: ",")] }
        self.init(name: name, dataDirectory: dataDirectory, extraArguments: arguments, httpPort: httpPort)
    }

    /// With `fileLimit`, the node runs under `ulimit -n fileLimit`.
    init(name: String = "n1", dataDirectory: URL, extraArguments: [String] = [], httpPort: Int = 0, fileLimit: Int? = nil) {
        self.name = name
        self.dataDirectory = dataDirectory
        child = LoggedProcess(arguments: ["node", "--name", name, "--data", dataDirectory.path, "--http", "127.0.0.1:\(httpPort)",
                                          "--bcrypt-cost", "4", "--token-secret", "e2e-secret"] + extraArguments, fileLimit: fileLimit)
    }

    /// Starts the process and waits (at most `timeout`) until it logs its listening port(s).
    func start(timeout: TimeInterval = 30) throws {
        let wantsGossip = child.process.arguments?.contains("--gossip") ?? false
        try child.start(timeout: timeout) { text in
            guard let http = LoggedProcess.port(after: LoggedProcess.httpMarker, in: text) else { return false }
            let gossip = LoggedProcess.port(after: "gossip listening on 127.0.0.1:", in: text)
            guard gossip != nil || !wantsGossip else { return false }
            port = http
            gossipPort = gossip ?? 0
            return true
        }
    }

    var logText: String { child.text }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Sends `signal` and waits for the process to exit.
    func kill(signal: Int32) { child.kill(signal: signal) }

    /// Graceful stop (SIGTERM), then SIGKILL if it is still running after 10 s.
    func stop() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        kill(signal: SIGKILL)
    }

    deinit { kill(signal: SIGKILL) }
}

enum NodeProcessError: Error {
    case didNotStart(String)
}

/// A minimal JSON HTTP client over URLSession for talking to child processes.
struct HTTPJSON {
    let base: String
    let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        return URLSession(configuration: configuration)
    }()

    struct Reply {
        let status: Int
        let json: [String: Any]
    }

    func send(_ method: String, _ path: String, token: String? = nil, json: [String: Any]? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let token { request.setValue(token, forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return Reply(status: status, json: (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }
}

func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("stoa-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs `stoa ARGS` to completion (at most `timeout` seconds, then it is stopped); returns its
/// exit status and output (standard output and error together).
func runStoa(_ arguments: [String], timeout: TimeInterval = 60) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = NodeProcess.binary
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}
