import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Issue 13 with real processes: backups restore into a running cluster; a node that leaves is
/// gone from every member's list and from the gateway's pool, and stops holding compaction back.
@Suite("Bounded history with real processes", .serialized, .timeLimit(.minutes(3)))
struct HistoryEndToEndTests {
    static let fastCompaction = ["--compaction-ms", "300"]

    /// Runs `stoa ARGS` to completion (``runStoa(_:timeout:)``).
    func stoa(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runStoa(arguments)
    }

    func signUp(_ cluster: LocalCluster, on name: String) async throws -> String {
        let http = cluster.http(name)
        #expect(try await http.send("POST", "/api/collections/users/records", json: ["email": "bo@example.com", "password": "12345678", "passwordConfirm": "12345678"]).status == 200)
        let auth = try await http.send("POST", "/api/collections/users/auth-with-password", json: ["identity": "bo@example.com", "password": "12345678"])
        return try #require(auth.json["token"] as? String)
    }

    @Test("a backup taken under write load restores into a node that joins the running cluster and ends with equal digests")
    func backupRestore() async throws {
        let cluster = try LocalCluster(label: "backup")
        defer { cluster.stopAll() }
        for name in ["n1", "n2", "n3"] { try cluster.startNode(name, join: cluster.seedPorts(), extraArguments: Self.fastCompaction) }
        #expect(try await cluster.waitUntilJoined())
        let token = try await signUp(cluster, on: "n1")
        let oldOrigin = try await cluster.status("n3")["origin"] as? String

        // Writes on every node while n3's database is copied.
        let backup = cluster.root.appendingPathComponent("n3-backup.sqlite")
        async let load: Int = {
            var acknowledged = 0
            for index in 0..<120 {
                let name = ["n1", "n2", "n3"][index % 3]
                if try await cluster.http(name).send("POST", "/api/collections/quotes/records", token: token, json: ["content": "before \(index)"]).status == 200 { acknowledged += 1 }
            }
            return acknowledged
        }()
        try await Task.sleep(for: .milliseconds(300))
        let made = try stoa(["backup", "--data", cluster.node("n3").dataDirectory.path, "--to", backup.path])
        #expect(made.status == 0, "\(made.output)")
        #expect(made.output.contains("backup done") && made.output.contains("MB"))
        #expect(try await load == 120)

        // n3's machine is lost (after its writes replicated: a write only its lost disk held
        // would be lost with it); more writes land meanwhile, and the others compact their logs.
        #expect(try await cluster.waitUntilConverged(["n1", "n2", "n3"]) != nil)
        cluster.node("n3").kill(signal: SIGKILL)
        for index in 0..<30 {
            #expect(try await cluster.http(["n1", "n2"][index % 2]).send("POST", "/api/collections/quotes/records", token: token, json: ["content": "after \(index)"]).status == 200)
        }
        let restored = cluster.root.appendingPathComponent("n3-restored")
        try FileManager.default.createDirectory(at: restored, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: backup, to: restored.appendingPathComponent("stoa.sqlite"))
        try cluster.startNode("n3", join: cluster.seedPorts(), dataDirectory: restored, extraArguments: Self.fastCompaction)
        #expect(try await cluster.waitUntilJoined())
        #expect(try await cluster.waitUntilConverged(["n1", "n2", "n3"], timeout: .seconds(30)) != nil)
        let newOrigin = try await cluster.status("n3")["origin"] as? String
        #expect(newOrigin != nil && newOrigin != oldOrigin, "the restored node took a new origin epoch")
        let list = try await cluster.http("n3").send("GET", "/api/collections/quotes/records?perPage=1", token: token)
        #expect(list.json["totalItems"] as? Int == 150, "every acknowledged write is on the restored node")
    }

    @Test("a node that leaves is gone from every member's list and the gateway's pool, and compaction goes on without it")
    func gracefulLeave() async throws {
        let cluster = try LocalCluster(label: "leave")
        defer { cluster.stopAll() }
        for name in ["n1", "n2", "n3"] { try cluster.startNode(name, join: cluster.seedPorts(), extraArguments: Self.fastCompaction) }
        #expect(try await cluster.waitUntilJoined())
        let gateway = GatewayProcess(join: cluster.seedPorts())
        try gateway.start()
        defer { gateway.kill(signal: SIGKILL) }
        #expect(try await gateway.waitUntilRouting(["n1", "n2", "n3"]))
        let token = try await signUp(cluster, on: "n1")
        for index in 0..<10 {
            #expect(try await cluster.http("n3").send("POST", "/api/collections/quotes/records", token: token, json: ["content": "n3's \(index)"]).status == 200)
        }

        let left = try stoa(["node", "leave", "--data", cluster.node("n3").dataDirectory.path])
        #expect(left.status == 0, "\(left.output)")
        #expect(!cluster.node("n3").process.isRunning)
        #expect(cluster.node("n3").logText.contains("leaving the cluster"))
        for name in ["n1", "n2"] {
            #expect(try await eventually(timeout: .seconds(5)) { try await cluster.memberStates(seenBy: name)["n3"] == nil }, "n3 gone from \(name)'s members")
        }
        #expect(try await eventually(timeout: .seconds(5)) { try await gateway.nodes()["n3"] == nil }, "n3 gone from the gateway's pool")

        // Writes through the gateway go on; n3's own writes were kept; n1 and n2 compact past n3's last vector.
        for index in 0..<10 {
            let exchange = try await HTTPExchange.send(URLSession(configuration: .ephemeral), "POST", gateway.baseURL + "/api/collections/quotes/records", token: token, json: ["content": "after \(index)"])
            #expect(exchange.status == 200)
        }
        #expect(try await cluster.waitUntilConverged(["n1", "n2"]) != nil)
        for name in ["n1", "n2"] {
            let list = try await cluster.http(name).send("GET", "/api/collections/quotes/records?perPage=1", token: token)
            #expect(list.json["totalItems"] as? Int == 20)
            // Everything n1 and n2 wrote after n3 left leaves their logs: n3 (which never got it)
            // no longer holds compaction back.
            let compacted = try await eventually(timeout: .seconds(10)) {
                let status = try await cluster.status(name)
                let floor = status["logFloor"] as? [String: Int] ?? [:]
                let vector = status["versionVector"] as? [String: [String: Any]] ?? [:]
                let written = vector.filter { !$0.key.hasPrefix("n3") }
                return !written.isEmpty && written.allSatisfy { origin, entry in floor[origin] == entry["contiguous"] as? Int }
            }
            #expect(compacted, "\(name) compacts its log with n3 gone")
        }
    }
}
