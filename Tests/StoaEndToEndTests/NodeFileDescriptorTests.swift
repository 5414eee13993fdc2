import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Issue 18, item 5, replayed against a node process: flooded with connections under a low
/// descriptor limit, a node must neither run out of descriptors (libdispatch stops a process with
/// SIGILL when it cannot open `/proc/<tid>/stat`), nor spin, and must serve again as soon as its
/// idle connections close.
@Suite("A node under a low file descriptor limit", .serialized, .timeLimit(.minutes(3)))
struct NodeFileDescriptorTests {
    @Test("flooded past its connection budget, a node refuses the excess, does not spin a core, and serves again as its idle connections close")
    func fileDescriptorExhaustion() async throws {
        let folder = try temporaryDirectory("fd-exhaustion")
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = NodeProcess(name: "n1", dataDirectory: folder.appendingPathComponent("n1"), extraArguments: ["--idle-timeout", "2"], fileLimit: 256)
        try node.start()
        defer { node.kill(signal: SIGKILL) }
        let pid = node.process.processIdentifier
        #expect(try await eventually { try await HTTPJSON(base: node.baseURL).send("GET", "/api/health").status == 200 })
        // The connection limit was fitted to the descriptor limit (10,000 asked for).
        let budget = Int(sample(try await prometheusText(node.baseURL), "stoa_http_max_connections"))
        #expect(budget >= 16 && budget <= 256 - 64, "client connections within 256 descriptors: \(budget)")
        #expect(node.logText.contains("holds \(budget) client connections, not --max-connections (10000)"))

        var held: [AttackSocket] = []
        defer { for socket in held { socket.close() } }
        for _ in 0..<(budget + 150) { held.append(try AttackSocket.connect(port: node.port, wait: false)) }
        try await Task.sleep(for: .milliseconds(500))
        guard node.process.isRunning else {
            Issue.record("the node exited under the flood (status \(node.process.terminationStatus)); its log ends:\n\(node.logText.suffix(4000))")
            return
        }
        let cpu = try cpuShare(of: pid, over: .seconds(2))
        #expect(cpu < 0.3, "CPU while flooded: \(Int(cpu * 100)) % of a core (before issue 18: 93-96 %)")

        // Still holding every connection: the idle ones close, a new client is served.
        let served = (try? await eventually(timeout: .seconds(30)) { try await HTTPJSON(base: node.baseURL).send("GET", "/api/health").status == 200 }) ?? false
        guard served else {
            Issue.record("not served again within 30 s (node running: \(node.process.isRunning)); its log ends:\n\(node.logText.suffix(6000))")
            return
        }
        let metrics = try await prometheusText(node.baseURL)
        #expect(sample(metrics, "stoa_http_connections_refused_total") >= 100)
        #expect(sample(metrics, "stoa_http_accept_errors_total") == 0, "the descriptor table never filled")
        #expect(sample(metrics, #"stoa_http_connections_closed_total{reason="idle"}"#) >= Double(budget / 2))
        #expect(node.process.isRunning)
    }

    @Test("a descriptor limit too low to serve stops the node at startup with a clear error")
    func tooLowToServe() throws {
        let folder = try temporaryDirectory("fd-too-low")
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = NodeProcess(name: "n1", dataDirectory: folder.appendingPathComponent("n1"), fileLimit: 64)
        #expect(throws: NodeProcessError.self) { try node.start(timeout: 20) }
        defer { node.kill(signal: SIGKILL) }
        let deadline = Date().addingTimeInterval(10)
        while !node.logText.contains("file descriptor limit"), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(!node.process.isRunning)
        #expect(node.process.terminationStatus != 0)
        #expect(node.logText.contains("the file descriptor limit (64) leaves fewer than 16 client connections"), "log: \(node.logText.suffix(2000))")
    }
}
