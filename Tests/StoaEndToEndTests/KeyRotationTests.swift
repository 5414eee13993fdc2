import Foundation
import Testing

/// Rotating the cluster key of three real node processes, one node at a time, while clients write.
@Suite("Cluster key rotation", .serialized, .timeLimit(.minutes(5)))
struct KeyRotationTests {
    let names = ["n1", "n2", "n3"]

    @Test("old → old+new → new+old → new, one node at a time (SIGHUP, and a restart), under writes: no acknowledged write lost, digests equal, nothing refused")
    func rotateUnderWrites() async throws {
        let cluster = try LocalCluster(label: "rotate")
        defer { cluster.stopAll() }
        func keyFile(_ name: String) -> URL { cluster.root.appendingPathComponent("\(name).keys") }
        func writeKeys(_ name: String, _ keys: [String]) throws {
            try (keys.joined(separator: "\n") + "\n").write(to: keyFile(name), atomically: true, encoding: .utf8)
        }
        func start(_ name: String) throws {
            try cluster.startNode(name, join: cluster.seedPorts(), clusterKey: nil, sameHTTPPort: true, extraArguments: ["--cluster-key-file", keyFile(name).path])
        }
        func keys(_ name: String) async throws -> (primary: String, accepted: [String]) {
            let view = try await cluster.status(name)["clusterKeys"] as? [String: Any] ?? [:]
            return (view["primary"] as? String ?? "", view["accepted"] as? [String] ?? [])
        }
        func hangUp(_ name: String) { kill(cluster.node(name).process.processIdentifier, SIGHUP) }

        for name in names {
            try writeKeys(name, ["old-cluster-key"])
            try start(name)
        }
        #expect(try await cluster.waitUntilJoined())
        let oldID = try await keys("n1").primary

        let signUp = try await cluster.http("n1").send("POST", "/api/collections/users/records", json: ["email": "rot@example.com", "password": "12345678", "passwordConfirm": "12345678"])
        #expect(signUp.status == 200)
        let token = try #require(try await cluster.http("n1").send("POST", "/api/collections/users/auth-with-password", json: ["identity": "rot@example.com", "password": "12345678"]).json["token"] as? String)
        for name in names {
            #expect(try await eventually { try await cluster.http(name).send("GET", "/api/collections/users/records/\(signUp.json["id"] as? String ?? "")", token: token).status == 200 })
        }

        // Four writers, round robin over the nodes; a write to a node restarting fails and is
        // simply not acknowledged.
        let acknowledged = ManagedIDs()
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var index = 0
                        while !acknowledged.stopped {
                            index += 1
                            let target = names[(writer + index) % names.count]
                            let content = "rot-\(writer)-\(index)"
                            if let reply = try? await cluster.http(target).send("POST", "/api/collections/quotes/records", token: token, json: ["content": content]),
                               reply.status == 200, let id = reply.json["id"] as? String {
                                acknowledged.insert(id, content: content)
                            } else {
                                try? await Task.sleep(for: .milliseconds(50))
                            }
                        }
                    }
                }
            }
        }
        func writesGoOn() async throws {
            let before = acknowledged.count
            #expect(try await eventually(timeout: .seconds(20)) { acknowledged.count >= before + 20 }, "writes continue")
        }
        try await writesGoOn()

        // 1. The new key becomes a secondary everywhere (SIGHUP re-reads the key file).
        for name in names {
            try writeKeys(name, ["old-cluster-key", "new-cluster-key"])
            hangUp(name)
            #expect(try await eventually { try await keys(name).accepted.count == 2 }, "\(name) accepts both")
        }
        let newID = try await keys("n1").accepted[1]
        #expect(newID != oldID)
        try await writesGoOn()

        // 2. The new key becomes primary, one node at a time: n2 by a restart, the others by SIGHUP.
        for name in names {
            try writeKeys(name, ["new-cluster-key", "old-cluster-key"])
            if name == "n2" {
                cluster.node(name).stop()
                try start(name)
            } else {
                hangUp(name)
            }
            #expect(try await eventually { try await keys(name).primary == newID }, "\(name) seals with the new key")
            #expect(try await cluster.waitUntilJoined(), "membership agreed after \(name) switched")
            try await writesGoOn()
        }

        // 3. The old key is removed everywhere.
        for name in names {
            try writeKeys(name, ["new-cluster-key"])
            hangUp(name)
            #expect(try await eventually { try await keys(name).accepted == [newID] }, "\(name) holds only the new key")
            try await writesGoOn()
        }
        #expect(try await cluster.waitUntilJoined())

        acknowledged.stop()
        await writers.value
        let expected = acknowledged.snapshot
        #expect(expected.count >= 100)
        #expect(try await cluster.waitUntilConverged(names, timeout: .seconds(30)) != nil, "digests equal")
        for name in names {
            var found: [String: String] = [:]
            var page = 1
            while true {
                let list = try await cluster.http(name).send("GET", "/api/collections/quotes/records?perPage=500&page=\(page)&fields=id,content", token: token)
                let items = list.json["items"] as? [[String: Any]] ?? []
                for item in items { if let id = item["id"] as? String { found[id] = item["content"] as? String } }
                if items.count < 500 { break }
                page += 1
            }
            let missing = expected.filter { found[$0.key] != $0.value }
            #expect(missing.isEmpty, "\(name) lacks \(missing.count) of \(expected.count) acknowledged writes")
            // Nothing sealed by a member was refused along the way.
            let transport = (try await cluster.status(name)["counters"] as? [String: Any])?["transport"] as? [String: Int] ?? [:]
            #expect(transport["authentication"] == 0, "\(name) refused messages: \(transport)")
            #expect(transport["replay"] == 0, "\(name) saw replays: \(transport)")
        }

        // A node that holds only the old key no longer gets in.
        try cluster.startNode("stale", join: [cluster.node("n1").gossipPort], clusterKey: "old-cluster-key")
        try await Task.sleep(for: .seconds(2))
        #expect(try await cluster.memberStates(seenBy: "n1")["stale"] == nil)
        let transport = (try await cluster.status("n1")["counters"] as? [String: Any])?["transport"] as? [String: Int] ?? [:]
        #expect((transport["authentication"] ?? 0) > 0)
    }
}
