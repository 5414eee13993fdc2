import Foundation
import Testing

/// Issue 16 with real processes: sign-ups of one email on both sides of a partition (two nodes
/// with different cluster keys hear nothing of each other), then a heal; and sign-ups of one email
/// on two connected nodes at the same moment.
@Suite("Accounts across a partition (real processes)", .serialized, .timeLimit(.minutes(3)))
struct AccountsEndToEndTests {
    let users = "/api/collections/users"

    func signUp(_ cluster: LocalCluster, on node: String, email: String, password: String) async throws -> HTTPJSON.Reply {
        try await cluster.http(node).send("POST", "\(users)/records", json: ["email": email, "password": password, "passwordConfirm": password])
    }

    func logIn(_ cluster: LocalCluster, on node: String, identity: String, password: String) async throws -> HTTPJSON.Reply {
        try await cluster.http(node).send("POST", "\(users)/auth-with-password", json: ["identity": identity, "password": password])
    }

    func quoteContents(_ cluster: LocalCluster, on node: String, token: String) async throws -> Set<String> {
        let list = try await cluster.http(node).send("GET", "/api/collections/quotes/records?perPage=100", token: token)
        return Set((list.json["items"] as? [[String: Any]] ?? []).compactMap { $0["content"] as? String })
    }

    @Test("one email signed up on both sides of a partition: after the heal the earlier account holds it on every node, the other is told to sign in by id, no quote is lost")
    func partitionedSignUps() async throws {
        let cluster = try LocalCluster(label: "accounts")
        defer { cluster.stopAll() }
        try cluster.startNode("n1", join: [])
        // n2 has another key: the two are partitioned until n2 restarts with the cluster's key.
        try cluster.startNode("n2", join: [], clusterKey: "another-cluster-key")
        let first = try await signUp(cluster, on: "n1", email: "carol@example.com", password: "password-one")
        try await Task.sleep(for: .milliseconds(20))
        let second = try await signUp(cluster, on: "n2", email: "Carol@Example.com", password: "password-two")
        #expect(first.status == 200 && second.status == 200, "each side accepts the sign-up it cannot check")
        let firstID = try #require(first.json["id"] as? String)
        let secondID = try #require(second.json["id"] as? String)
        for (node, password, content) in [("n1", "password-one", "first's quote"), ("n2", "password-two", "second's quote")] {
            let auth = try await logIn(cluster, on: node, identity: "carol@example.com", password: password)
            let token = try #require(auth.json["token"] as? String)
            #expect(try await cluster.http(node).send("POST", "/api/collections/quotes/records", token: token, json: ["content": content]).status == 200)
        }

        // Heal: n2 restarts with the cluster's key and joins n1.
        cluster.node("n2").stop()
        try cluster.startNode("n2", join: cluster.seedPorts())
        #expect(try await cluster.waitUntilJoined())
        #expect(try await cluster.waitUntilConverged(["n1", "n2"]) != nil)

        for node in ["n1", "n2"] {
            let holder = try await logIn(cluster, on: node, identity: "CAROL@example.com", password: "password-one")
            #expect(holder.status == 200, "the earlier account logs in by email on \(node)")
            #expect((holder.json["record"] as? [String: Any])?["id"] as? String == firstID)
            // The later account's owner is told how to get in, on every node alike.
            let displaced = try await logIn(cluster, on: node, identity: "carol@example.com", password: "password-two")
            #expect(displaced.status == 400)
            let field = (displaced.json["data"] as? [String: Any])?["identity"] as? [String: Any]
            #expect(field?["code"] as? String == "validation_email_held_by_earlier_account", "\(displaced.json)")
            #expect((displaced.json["message"] as? String ?? "").contains(secondID))
            let byID = try await logIn(cluster, on: node, identity: secondID, password: "password-two")
            #expect(byID.status == 200, "the displaced account signs in by its id on \(node)")
            // Nobody's quotes are lost.
            let secondToken = try #require(byID.json["token"] as? String)
            #expect(try await quoteContents(cluster, on: node, token: secondToken) == ["second's quote"])
            let firstToken = try #require(holder.json["token"] as? String)
            #expect(try await quoteContents(cluster, on: node, token: firstToken) == ["first's quote"])
        }
        // Now that the nodes meet, the address is taken everywhere.
        #expect(try await signUp(cluster, on: "n2", email: "carol@EXAMPLE.com", password: "password-three").status == 400)
    }

    @Test("one email signed up on two connected nodes at the same moment: one account holds it, the same on both nodes")
    func simultaneousSignUps() async throws {
        let cluster = try LocalCluster(label: "accounts-race")
        defer { cluster.stopAll() }
        try cluster.start(["n1", "n2"])
        #expect(try await cluster.waitUntilJoined())
        for round in 0..<5 {
            let email = "race\(round)@example.com"
            async let a = signUp(cluster, on: "n1", email: email, password: "password-n1")
            async let b = signUp(cluster, on: "n2", email: email.uppercased(), password: "password-n2")
            let (ra, rb) = try await (a, b)
            #expect(ra.status == 200 || rb.status == 200, "at least one sign-up succeeds")
            #expect(try await cluster.waitUntilConverged(["n1", "n2"]) != nil)
            var holders: [String] = []
            for node in ["n1", "n2"] {
                var ids: [String] = []
                for password in ["password-n1", "password-n2"] {
                    let auth = try await logIn(cluster, on: node, identity: email, password: password)
                    if auth.status == 200, let id = (auth.json["record"] as? [String: Any])?["id"] as? String { ids.append(id) }
                }
                #expect(ids.count == 1, "exactly one account logs in with \(email) on \(node)")
                holders += ids
            }
            #expect(Set(holders).count == 1, "the same account on both nodes")
        }
    }
}
