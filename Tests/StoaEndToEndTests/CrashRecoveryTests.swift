import Foundation
import Testing

@Suite("A real node process", .timeLimit(.minutes(3)))
struct CrashRecoveryTests {
    @Test("every acknowledged write survives SIGKILL during a write load")
    func sigkillKeepsAcknowledgedWrites() async throws {
        let data = try temporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(at: data) }
        let node = NodeProcess(dataDirectory: data)
        try node.start()
        defer { node.kill(signal: SIGKILL) }
        let http = HTTPJSON(base: node.baseURL)

        let signUp = try await http.send("POST", "/api/collections/users/records", json: ["email": "crash@example.com", "password": "12345678", "passwordConfirm": "12345678"])
        #expect(signUp.status == 200)
        let token = try #require(try await http.send("POST", "/api/collections/users/auth-with-password", json: ["identity": "crash@example.com", "password": "12345678"]).json["token"] as? String)

        // Eight concurrent writers; the node is killed while they are still writing.
        let acknowledged = ManagedIDs()
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        var index = 0
                        while !acknowledged.stopped {
                            index += 1
                            let reply: HTTPJSON.Reply
                            do {
                                reply = try await http.send("POST", "/api/collections/quotes/records", token: token, json: ["content": "w\(writer)-\(index)", "tags": ["t\(index % 3)"]])
                            } catch {
                                if !acknowledged.stopped { acknowledged.fail("\(error)") }
                                return
                            }
                            if reply.status == 200, let id = reply.json["id"] as? String { acknowledged.insert(id, content: "w\(writer)-\(index)") }
                        }
                    }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while acknowledged.count < 200, acknowledged.errors.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(acknowledged.errors.isEmpty, "writes failed before the kill: \(acknowledged.errors.prefix(3))")
        node.kill(signal: SIGKILL)
        // Writers stop by flag, not by cancellation: cancelling an in-flight URLSession request
        // deadlocks swift-corelibs-foundation. Requests in flight fail once the node is gone.
        acknowledged.stop()
        await writers.value
        let expected = acknowledged.snapshot
        #expect(expected.count >= 200)

        let restarted = NodeProcess(dataDirectory: data)
        try restarted.start()
        defer { restarted.stop() }
        let again = HTTPJSON(base: restarted.baseURL)
        // The token still works: the signing secret is the same.
        let list = try await again.send("GET", "/api/collections/quotes/records?perPage=1000&fields=id,content", token: token)
        #expect(list.status == 200)
        let found = Dictionary(uniqueKeysWithValues: ((list.json["items"] as? [[String: Any]]) ?? []).compactMap { item -> (String, String)? in
            guard let id = item["id"] as? String, let content = item["content"] as? String else { return nil }
            return (id, content)
        })
        let missing = expected.filter { found[$0.key] != $0.value }
        #expect(missing.isEmpty, "lost \(missing.count) of \(expected.count) acknowledged writes")
        // Writes go on after the restart, with fresh ids and a continuing sequence.
        let after = try await again.send("POST", "/api/collections/quotes/records", token: token, json: ["content": "after restart"])
        #expect(after.status == 200)
    }

    @Test("SIGTERM stops a cluster node cleanly (exit 0) and the data folder refuses another name")
    func gracefulStop() async throws {
        let data = try temporaryDirectory("term")
        defer { try? FileManager.default.removeItem(at: data) }
        let node = NodeProcess(name: "n1", dataDirectory: data, join: [])
        try node.start()
        let http = HTTPJSON(base: node.baseURL)
        #expect(try await http.send("GET", "/api/health").status == 200)
        node.stop()
        #expect(node.process.terminationReason == .exit)
        #expect(node.process.terminationStatus == 0)

        // Another name on the same folder is refused with a clear message.
        let impostor = NodeProcess(name: "other", dataDirectory: data)
        #expect(throws: NodeProcessError.self) { try impostor.start(timeout: 15) }
        #expect(impostor.logText.contains(#"this data folder belongs to node "n1", not "other""#))
    }
}

/// Ids and contents of acknowledged writes, shared by the writer tasks.
final class ManagedIDs: @unchecked Sendable {
    private var values: [String: String] = [:]
    private var failures: [String] = []
    private let lock = NSLock()
    private var stopFlag = false
    func fail(_ error: String) { lock.withLock { failures.append(error) } }
    func stop() { lock.withLock { stopFlag = true } }
    var stopped: Bool { lock.withLock { stopFlag } }
    var errors: [String] { lock.withLock { failures } }
    func insert(_ id: String, content: String) { lock.withLock { values[id] = content } }
    var count: Int { lock.withLock { values.count } }
    var snapshot: [String: String] { lock.withLock { values } }
}
