import Foundation
import Testing

@Suite("A three-node cluster of real processes", .serialized, .timeLimit(.minutes(3)))
struct ClusterTests {
    /// Signs up on one node and returns (user id, token) from a login on another.
    func user(_ cluster: LocalCluster, signUpOn: String, logInOn: String, email: String) async throws -> (String, String) {
        let signUp = try await cluster.http(signUpOn).send("POST", "/api/collections/users/records", json: ["email": email, "password": "12345678", "passwordConfirm": "12345678"])
        #expect(signUp.status == 200)
        var token: String?
        // The user reaches the other node by replication.
        _ = try await eventually {
            let auth = try await cluster.http(logInOn).send("POST", "/api/collections/users/auth-with-password", json: ["identity": email, "password": "12345678"])
            token = auth.json["token"] as? String
            return auth.status == 200
        }
        return (signUp.json["id"] as? String ?? "", try #require(token))
    }

    @Test("sign up on n1, log in on n2, write on n3, read everywhere; edits, tags and deletes converge")
    func clientsWriteToAnyNode() async throws {
        let cluster = try LocalCluster(label: "any-node")
        defer { cluster.stopAll() }
        try cluster.start(["n1", "n2", "n3"])
        #expect(try await cluster.waitUntilJoined())

        let (_, token) = try await user(cluster, signUpOn: "n1", logInOn: "n2", email: "ann@example.com")
        let created = try await cluster.http("n3").send("POST", "/api/collections/quotes/records", token: token, json: ["content": "Begin at once to live", "tags": ["seneca"]])
        #expect(created.status == 200)
        let id = try #require(created.json["id"] as? String)
        let path = "/api/collections/quotes/records/\(id)"
        for name in ["n1", "n2", "n3"] {
            #expect(try await eventually { try await cluster.http(name).send("GET", path, token: token).status == 200 }, "visible on \(name)")
        }

        // Two clients edit the same quote on different nodes and add tags at the same time.
        async let edit1 = cluster.http("n1").send("PATCH", path, token: token, json: ["content": "from n1", "tags+": "time"])
        async let edit2 = cluster.http("n2").send("PATCH", path, token: token, json: ["content": "from n2", "tags+": ["virtue"]])
        let (r1, r2) = try await (edit1, edit2)
        #expect(r1.status == 200 && r2.status == 200)
        #expect(try await cluster.waitUntilConverged(["n1", "n2", "n3"]) != nil)
        var seen: [[String: Any]] = []
        for name in ["n1", "n2", "n3"] { seen.append(try await cluster.http(name).send("GET", path, token: token).json) }
        let contents = Set(seen.map { $0["content"] as? String ?? "" })
        #expect(contents.count == 1 && (contents.first == "from n1" || contents.first == "from n2"))
        for record in seen { #expect(Set(record["tags"] as? [String] ?? []) == ["seneca", "time", "virtue"]) }

        // A delete and a concurrent edit resolve the same everywhere (the delete wins).
        async let delete = cluster.http("n1").send("DELETE", path, token: token)
        async let edit = cluster.http("n3").send("PATCH", path, token: token, json: ["notes": "late edit"])
        _ = try await (delete, edit)
        #expect(try await cluster.waitUntilConverged(["n1", "n2", "n3"]) != nil)
        for name in ["n1", "n2", "n3"] {
            #expect(try await cluster.http(name).send("GET", path, token: token).status == 404, "deleted on \(name)")
        }
    }

    @Test("a killed node is marked dead; after restart every acknowledged write is on all three; an empty node catches up")
    func killRestartCatchUp() async throws {
        let cluster = try LocalCluster(label: "kill")
        defer { cluster.stopAll() }
        try cluster.start(["n1", "n2", "n3"])
        #expect(try await cluster.waitUntilJoined())
        let (_, token) = try await user(cluster, signUpOn: "n1", logInOn: "n1", email: "bob@example.com")

        // Writes go to all three nodes; n3 is killed in the middle (some of its acknowledged
        // writes may not have left it yet), then the writes go on to n1 and n2.
        var acknowledged: [String] = []
        for index in 0..<150 {
            if index == 60 { cluster.node("n3").kill(signal: SIGKILL) }
            let target = index < 60 ? ["n1", "n2", "n3"][index % 3] : ["n1", "n2"][index % 2]
            let reply = try await cluster.http(target).send("POST", "/api/collections/quotes/records", token: token, json: ["content": "q\(index)"])
            if reply.status == 200, let id = reply.json["id"] as? String { acknowledged.append(id) }
        }
        #expect(acknowledged.count == 150)
        let markedDead = try await eventually(timeout: .seconds(15)) {
            let n1 = try await cluster.memberStates(seenBy: "n1")["n3"]
            let n2 = try await cluster.memberStates(seenBy: "n2")["n3"]
            return n1 == "dead" && n2 == "dead"
        }
        #expect(markedDead, "n1 and n2 mark the killed n3 dead")

        try cluster.startNode("n3", join: cluster.seedPorts())
        #expect(try await cluster.waitUntilJoined())
        #expect(try await cluster.waitUntilConverged(["n1", "n2", "n3"]) != nil)
        for name in ["n1", "n2", "n3"] {
            let list = try await cluster.http(name).send("GET", "/api/collections/quotes/records?perPage=1000&fields=id", token: token)
            let ids = Set((list.json["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
            #expect(Set(acknowledged).isSubset(of: ids), "\(name) has every acknowledged write")
        }

        // A node with an empty data folder joins later and catches up fully.
        try cluster.startNode("n4", join: cluster.seedPorts())
        #expect(try await cluster.waitUntilConverged(["n1", "n4"]) != nil)
        let n4 = try await cluster.http("n4").send("GET", "/api/collections/quotes/records?perPage=1", token: token)
        #expect(n4.json["totalItems"] as? Int == 150)
    }

    @Test("unauthenticated or malformed cluster messages are dropped and counted; a wrong key never joins")
    func unauthenticatedTraffic() async throws {
        let cluster = try LocalCluster(label: "auth")
        defer { cluster.stopAll() }
        try cluster.start(["n1"])
        let port = cluster.node("n1").gossipPort

        // Garbage datagrams and a garbage frame on the stream port.
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(udp) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        for payload in [[UInt8](repeating: 7, count: 64), [UInt8](repeating: 1, count: 3), Array("hello".utf8)] {
            _ = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udp, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(tcp) }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(tcp, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        let frame: [UInt8] = [0, 0, 0, 40] + [UInt8](repeating: 9, count: 40)
        _ = send(tcp, frame, frame.count, 0)

        // A node with the wrong key cannot join.
        try cluster.startNode("intruder", join: [port], clusterKey: "wrong-key")
        try await Task.sleep(for: .seconds(2))
        let counters = try await cluster.status("n1")["counters"] as? [String: Any] ?? [:]
        #expect((counters["unauthenticatedMessages"] as? Int ?? 0) >= 4)
        #expect(try await cluster.memberStates(seenBy: "n1")["intruder"] == nil)
        #expect(try await cluster.http("n1").send("GET", "/api/health").status == 200)
    }
}
