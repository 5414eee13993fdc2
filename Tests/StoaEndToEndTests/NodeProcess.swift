import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A `stoa node` child process on a loopback port chosen by the OS (`--http 127.0.0.1:0`); the
/// port is read from the node's startup log. Always stop it (``kill(signal:)``/``stop()``).
final class NodeProcess: @unchecked Sendable {
    let process = Process()
    let name: String
    let dataDirectory: URL
    private(set) var port = 0
    private let logPipe = Pipe()
    private var log = Data()
    private let lock = NSLock()

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

    init(name: String = "n1", dataDirectory: URL, extraArguments: [String] = []) {
        self.name = name
        self.dataDirectory = dataDirectory
        process.executableURL = Self.binary
        process.arguments = ["node", "--name", name, "--data", dataDirectory.path, "--http", "127.0.0.1:0", "--bcrypt-cost", "4",
                             "--token-secret", "e2e-secret"] + extraArguments
        process.standardError = logPipe
        process.standardOutput = logPipe
    }

    /// Starts the process and waits (at most `timeout`) until it logs its listening port.
    func start(timeout: TimeInterval = 30) throws {
        logPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.lock.withLock { self.log.append(chunk) }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = lock.withLock { String(decoding: log, as: UTF8.self) }
            if let range = text.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression),
               let port = Int(text[range].split(separator: ":").last ?? "") {
                self.port = port
                return
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(signal: SIGKILL)
        throw NodeProcessError.didNotStart(logText)
    }

    var logText: String { lock.withLock { String(decoding: log, as: UTF8.self) } }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Sends `signal` and waits for the process to exit.
    func kill(signal: Int32) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

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
