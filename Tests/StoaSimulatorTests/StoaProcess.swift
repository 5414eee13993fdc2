import Foundation

/// Runs the `stoa` executable as a child process and collects its standard output.
///
/// The scenario suite runs its seeds this way, two children at a time on two cores: Swift
/// Testing captures a backtrace at every thrown Swift error in the test process (the store's
/// JSON decoding throws and catches a lot), which costs a simulation about 30% more there.
enum StoaProcess {
    struct Outcome: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs `stoa ARGUMENTS...` to completion without blocking a cooperative thread.
    static func run(_ arguments: [String]) async throws -> Outcome {
        let binary = SimulationFiles.binary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: binary.path])
        }
        let outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("stoa-sim-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outputURL) }
        let output = try FileHandle(forWritingTo: outputURL)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try output.close()
        return Outcome(status: status, output: try String(contentsOf: outputURL, encoding: .utf8))
    }
}
