import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Issue 15 against processes: a superuser made with `stoa superuser upsert` on one node's data
/// replicates; through the gateway it signs in, sees every user's quotes, reads the cluster
/// overview and the gateway's status (which stay 404/403 to users), and the dashboard is served.
@Suite("Superusers in a cluster behind the gateway", .serialized, .timeLimit(.minutes(3)))
struct SuperuserClusterTests {
    static func stoa(_ arguments: [String]) throws -> (status: Int32, output: String) { try runStoa(arguments) }

    @Test("a superuser from the CLI replicates, signs in through the gateway and sees the whole cluster; users never do")
    func superuserThroughTheGateway() async throws {
        let cluster = try LocalCluster(label: "superusers")
        defer { cluster.stopAll() }
        let n1 = cluster.root.appendingPathComponent("n1").path
        let made = try Self.stoa(["superuser", "upsert", "admin@example.com", "admin password", "--data", n1, "--name", "n1", "--bcrypt-cost", "4"])
        #expect(made.status == 0, "\(made.output)")
        #expect(made.output.contains("superuser admin@example.com ("))
        let refused = try Self.stoa(["superuser", "upsert", "admin@example.com", "short", "--data", n1])
        #expect(refused.status != 0 && refused.output.contains("at least 8"), "\(refused.output)")

        try cluster.start(["n1", "n2"])
        #expect(try await cluster.waitUntilJoined())
        let running = try Self.stoa(["superuser", "delete", "admin@example.com", "--data", n1])
        #expect(running.status != 0 && running.output.contains("stop it first"), "\(running.output)")
        let gateway = GatewayProcess(join: cluster.seedPorts(), extraArguments: ["--no-rate-limit"])
        try gateway.start()
        defer { gateway.kill(signal: SIGKILL) }
        #expect(try await gateway.waitUntilRouting(["n1", "n2"]))

        // Replicated: n2 signs the superuser in.
        let signIn: [String: Any] = ["identity": "admin@example.com", "password": "admin password"]
        #expect(try await eventually { try await cluster.http("n2").send("POST", "/api/collections/_superusers/auth-with-password", json: signIn).status == 200 })
        let front = HTTPJSON(base: gateway.baseURL)
        let auth = try await front.send("POST", "/api/collections/_superusers/auth-with-password", json: signIn)
        #expect(auth.status == 200)
        let admin = auth.json["token"] as? String ?? ""

        // Two users' quotes, written on different nodes.
        var users: [(id: String, token: String)] = []
        for (index, node) in ["n1", "n2"].enumerated() {
            let api = cluster.http(node)
            let email = "user\(index)@example.com"
            let signUp = try await api.send("POST", "/api/collections/users/records", json: ["email": email, "password": "pass word 1", "passwordConfirm": "pass word 1"])
            let token = try await api.send("POST", "/api/collections/users/auth-with-password", json: ["identity": email, "password": "pass word 1"]).json["token"] as? String ?? ""
            #expect(try await api.send("POST", "/api/collections/quotes/records", token: token, json: ["content": "quote of \(email)"]).status == 200)
            users.append((signUp.json["id"] as? String ?? "", token))
        }
        #expect(try await eventually { try await front.send("GET", "/api/collections/quotes/records", token: admin).json["totalItems"] as? Int == 2 })
        #expect(try await front.send("GET", "/api/collections/quotes/records", token: users[0].token).json["totalItems"] as? Int == 1)

        // The cluster overview: both members answer, and their digests agree once converged.
        nonisolated(unsafe) var last: [String: Any] = [:]
        let overview = try await eventually {
            let answer = try await front.send("GET", "/api/cluster/overview", token: admin)
            last = answer.json
            let all = answer.json["members"] as? [[String: Any]] ?? []
            let members = all.filter { $0["role"] as? String == "node" }
            let gateways = all.filter { $0["role"] as? String == "gateway" }
            return answer.status == 200 && members.count == 2 && members.allSatisfy { $0["reachable"] as? Bool == true }
                && members.allSatisfy { ($0["http"] as? String)?.hasSuffix(":0") == false } && gateways.count == 1
                && answer.json["digestsAgree"] as? Bool == true
        }
        #expect(overview, "last answer: \(last)")
        #expect(try await front.send("GET", "/api/cluster/overview", token: users[0].token).status == 403)
        #expect(try await front.send("GET", "/api/cluster/overview").status == 403)
        // The gateway's status: to the superuser only.
        let status = try await front.send("GET", "/api/gateway", token: admin)
        #expect(status.status == 200)
        #expect((status.json["nodes"] as? [[String: Any]])?.count == 2)
        #expect(try await front.send("GET", "/api/gateway", token: users[0].token).status == 404)
        #expect(try await front.send("GET", "/api/gateway").status == 404)
        #expect(try await front.send("GET", "/api/cluster").status == 404)

        // The dashboard, through the gateway.
        let (page, response) = try await URLSession.shared.data(from: URL(string: gateway.baseURL + "/_/")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: page, as: UTF8.self).contains("/_/app.js"))
        let (_, script) = try await URLSession.shared.data(from: URL(string: gateway.baseURL + "/_/app.js")!)
        #expect((script as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/javascript") == true)
    }
}
