import ArgumentParser
import Foundation

/// `stoa node leave --data DIR`: makes the node running on that data folder leave the cluster
/// for good (its peers mark it left at once, stop keeping history for it, and the gateway stops
/// routing to it), then waits until it has stopped.
struct LeaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leave",
        abstract: "Make the node running on a data folder leave the cluster for good, and wait until it stopped.",
        discussion: "It sends SIGUSR1 to the process named in DIR/stoa.pid. A node that left and is started again rejoins."
    )

    @Option(help: "The data folder of the running node.")
    var data: String

    @Option(help: "Seconds to wait for the node to stop.")
    var timeout: Double = 30

    static func pidFile(data: String) -> String {
        URL(fileURLWithPath: data).appendingPathComponent("stoa.pid").path
    }

    func run() async throws {
        let file = Self.pidFile(data: data)
        guard let text = try? String(contentsOfFile: file, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
        else { throw ValidationError("no running node found: \(file) is missing or unreadable") }
        guard kill(pid, SIGUSR1) == 0 else { throw ValidationError("node process \(pid) is not running (stale \(file))") }
        print("asked node process \(pid) to leave the cluster")
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if kill(pid, 0) != 0 {
                print("the node left the cluster and stopped")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the node did not stop within \(timeout) s")
    }
}
