import Dispatch
import Foundation

/// Runs child processes, prefixes their output with their name, and stops them all (SIGTERM,
/// then SIGKILL after 10 s) on SIGINT/SIGTERM or when one of them exits on its own.
final class Supervisor: @unchecked Sendable {
    private let lock = NSLock()
    private var children: [(name: String, process: Process)] = []
    private var signalSources: [DispatchSourceSignal] = []
    private var isStopping = false
    private var firstFailure: Int32 = 0
    private var waiters: [CheckedContinuation<Int32, Never>] = []

    var stopping: Bool { lock.withLock { isStopping } }

    func start(name: String, executable: URL, arguments: [String], environment: [String: String]) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let prefix = "[\(name)] "
        let buffer = LineBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            guard !chunk.isEmpty else { handle.readabilityHandler = nil; return }
            for line in buffer.append(chunk) { FileHandle.standardError.write(Data((prefix + line + "\n").utf8)) }
        }
        process.terminationHandler = { [weak self] process in
            guard let self else { return }
            let unexpected = !self.stopping
            if unexpected {
                FileHandle.standardError.write(Data("\(prefix)exited with status \(process.terminationStatus); stopping the cluster\n".utf8))
                self.lock.withLock { if self.firstFailure == 0 { self.firstFailure = max(1, process.terminationStatus) } }
                self.stopAll()
            }
            self.resumeWaitersIfDone()
        }
        try process.run()
        lock.withLock { children.append((name, process)) }
    }

    /// Stops everything on SIGINT or SIGTERM.
    func stopOnSignals() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in
                FileHandle.standardError.write(Data("\nstopping the cluster...\n".utf8))
                self?.stopAll()
            }
            source.resume()
            signalSources.append(source)
        }
    }

    func stopAll() {
        let running: [Process] = lock.withLock {
            isStopping = true
            return children.map(\.process).filter(\.isRunning)
        }
        for process in running { kill(process.processIdentifier, SIGTERM) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 10) {
            for process in running where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        resumeWaitersIfDone()
    }

    /// Waits until every child has exited; returns the first unexpected exit status (0 if none).
    func waitUntilStopped() async -> Int32 {
        await withCheckedContinuation { continuation in
            lock.withLock { waiters.append(continuation) }
            resumeWaitersIfDone()
        }
    }

    private func resumeWaitersIfDone() {
        let ready: [CheckedContinuation<Int32, Never>] = lock.withLock {
            guard isStopping, children.allSatisfy({ !$0.process.isRunning }) else { return [] }
            defer { waiters.removeAll() }
            return waiters
        }
        let status = lock.withLock { firstFailure }
        for waiter in ready { waiter.resume(returning: status) }
    }
}

/// Splits a byte stream into lines.
final class LineBuffer: @unchecked Sendable {
    private var pending = Data()
    private let lock = NSLock()

    func append(_ chunk: Data) -> [String] {
        lock.withLock {
            pending.append(chunk)
            var lines: [String] = []
            while let newline = pending.firstIndex(of: 0x0A) {
                lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
            return lines
        }
    }
}
