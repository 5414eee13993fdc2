import Foundation

/// A `stoa` child process whose stdout and stderr are collected, for ``NodeProcess`` and
/// ``GatewayProcess``: started, then waited on until its log shows it is ready.
final class LoggedProcess: @unchecked Sendable {
    let process = Process()
    private let pipe = Pipe()
    private var log = Data()
    private let lock = NSLock()

    /// With `fileLimit`, the process runs under `ulimit -n fileLimit` (soft and hard limit).
    init(arguments: [String], fileLimit: Int? = nil) {
        if let fileLimit {
            // bash sets the limit, then becomes the stoa process (same pid).
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-c", "ulimit -n \(fileLimit) && exec \"$0\" \"$@\"", NodeProcess.binary.path] + arguments
        } else {
            process.executableURL = NodeProcess.binary
            process.arguments = arguments
        }
        process.standardError = pipe
        process.standardOutput = pipe
    }

    /// Starts the process and polls its log until `ready` accepts it; after `timeout`, or when
    /// the process exits first, kills it and throws ``NodeProcessError/didNotStart(_:)``.
    func start(timeout: TimeInterval, until ready: (String) -> Bool) throws {
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self, !chunk.isEmpty else { return }
            self.lock.withLock { self.log.append(chunk) }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if ready(text) { return }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(signal: SIGKILL)
        throw NodeProcessError.didNotStart(text)
    }

    var text: String { lock.withLock { String(decoding: log, as: UTF8.self) } }

    /// Sends `signal` and waits for the process to exit.
    func kill(signal: Int32) {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    /// The port logged right after `marker` (e.g. `Server started and listening on 127.0.0.1:`).
    static func port(after marker: String, in text: String) -> Int? {
        guard let range = text.range(of: marker) else { return nil }
        return Int(text[range.upperBound...].prefix(while: \.isNumber))
    }

    static let httpMarker = "Server started and listening on 127.0.0.1:"
}
