import Foundation
import Testing

/// A device of the quote app speaking `/api/sync` over HTTP: a local copy of its user's quotes,
/// a cursor, and edits made offline queued until the next sync.
final class HTTPDevice: @unchecked Sendable {
    let name: String
    let token: String
    private(set) var records: [String: [String: Any]] = [:]
    private(set) var cursor = ""
    private(set) var pending: [[String: Any]] = []
    private(set) var lastBatch: [String: Any] = [:]
    private var millis = Int(Date().timeIntervalSince1970 * 1000)

    init(_ name: String, token: String) {
        self.name = name
        self.token = token
    }

    func edit(_ id: String, _ op: String, fields: [String: Any]? = nil) {
        var edit: [String: Any] = ["id": id, "op": op, "time": millis]
        if let fields { edit["fields"] = fields }
        pending.append(edit)
        millis += 3
    }

    /// Pushes pending edits to `node`, then pulls every page since the cursor.
    func sync(_ node: HTTPJSON) async throws {
        if !pending.isEmpty {
            lastBatch = ["device": name, "changes": pending]
            let pushed = try await node.send("POST", "/api/sync", token: token, json: lastBatch)
            #expect(pushed.status == 200, "push from \(name): \(pushed.json)")
            pending = []
        }
        for _ in 0..<100 {
            let page = try await node.send("GET", "/api/sync?perPage=4&since=\(cursor)", token: token)
            #expect(page.status == 200)
            for record in page.json["items"] as? [[String: Any]] ?? [] { records[record["id"] as? String ?? ""] = record }
            for id in page.json["deleted"] as? [String] ?? [] { records[id] = nil }
            cursor = page.json["cursor"] as? String ?? ""
            if page.json["hasMore"] as? Bool != true { return }
        }
        Issue.record("sync of \(name) did not finish")
    }

    /// (id, content, notes, sorted tags) of every record: what must agree between replicas.
    var summary: [String] { Self.summary(Array(records.values)) }

    static func summary(_ items: [[String: Any]]) -> [String] {
        items.map { r in
            let tags = (r["tags"] as? [String] ?? []).sorted().joined(separator: ",")
            return "\(r["id"] ?? "")|\(r["content"] ?? "")|\(r["notes"] ?? "")|\(tags)"
        }.sorted()
    }
}

@Suite("Device sync against a real cluster", .serialized, .timeLimit(.minutes(3)))
struct DeviceSyncTests {
    func list(_ node: HTTPJSON, token: String) async throws -> [String] {
        HTTPDevice.summary(try await node.send("GET", "/api/collections/quotes/records?perPage=1000", token: token).json["items"] as? [[String: Any]] ?? [])
    }

    @Test("two devices edit offline against different nodes, one node partitioned meanwhile; after the heal all end equal; resent batches change nothing")
    func devicesAcrossPartition() async throws {
        let cluster = try LocalCluster(label: "devices")
        defer { cluster.stopAll() }
        try cluster.start(["n1", "n2", "n3"])
        #expect(try await cluster.waitUntilJoined())
        let signUp = try await cluster.http("n1").send("POST", "/api/collections/users/records", json: ["email": "dev@example.com", "password": "12345678", "passwordConfirm": "12345678"])
        #expect(signUp.status == 200)
        let auth = try await cluster.http("n1").send("POST", "/api/collections/users/auth-with-password", json: ["identity": "dev@example.com", "password": "12345678"])
        let token = try #require(auth.json["token"] as? String)
        var seeded: [String] = []
        for n in 0..<6 {
            let created = try await cluster.http("n1").send("POST", "/api/collections/quotes/records", token: token, json: ["content": "seed \(n)", "tags": ["stoic"]])
            seeded.append(try #require(created.json["id"] as? String))
        }
        #expect(try await cluster.waitUntilConverged(["n1", "n2", "n3"]) != nil)

        let phone = HTTPDevice("phone", token: token)
        let laptop = HTTPDevice("laptop", token: token)
        try await phone.sync(cluster.http("n1"))
        try await laptop.sync(cluster.http("n3"))
        #expect(phone.summary == laptop.summary && phone.records.count == 6)

        // n3 is cut off (frozen); the laptop, its device, goes offline; the phone keeps working via n1.
        kill(cluster.node("n3").process.processIdentifier, SIGSTOP)
        #expect(try await eventually(timeout: .seconds(15)) {
            let seen = try await [cluster.memberStates(seenBy: "n1")["n3"], cluster.memberStates(seenBy: "n2")["n3"]]
            return seen.allSatisfy { $0 == "dead" }
        }, "n1 and n2 declare the frozen n3 dead")
        phone.edit(seeded[0], "upsert", fields: ["content": "phone rewrote this", "tags+": ["phone"]])
        phone.edit(seeded[1], "delete")
        phone.edit("phonenew000001a", "upsert", fields: ["content": "made on the phone"])
        try await phone.sync(cluster.http("n1"))
        let web = try await cluster.http("n2").send("PATCH", "/api/collections/quotes/records/\(seeded[2])", token: token, json: ["notes": "from the web on n2"])
        #expect(web.status == 200)
        laptop.edit(seeded[0], "upsert", fields: ["notes": "laptop note", "tags+": ["laptop"]])
        laptop.edit(seeded[1], "upsert", fields: ["author": "edited while deleted elsewhere"])
        laptop.edit(seeded[3], "delete")
        laptop.edit(seeded[3], "restore")
        laptop.edit("laptopnew00001a", "upsert", fields: ["content": "made on the laptop", "tags": ["a", "b"]])

        // Heal; the laptop comes back through n3 with its old cursor.
        kill(cluster.node("n3").process.processIdentifier, SIGCONT)
        #expect(try await cluster.waitUntilJoined(), "n3 rejoins after the heal")
        try await laptop.sync(cluster.http("n3"))
        #expect(try await cluster.waitUntilConverged(["n1", "n2", "n3"], timeout: .seconds(30)) != nil)
        try await laptop.sync(cluster.http("n3"))
        try await phone.sync(cluster.http("n1"))

        let truth = try await list(cluster.http("n2"), token: token)
        #expect(phone.summary == truth)
        #expect(laptop.summary == truth)
        for name in ["n1", "n3"] { #expect(try await list(cluster.http(name), token: token) == truth, "\(name) agrees") }
        let first = try #require(phone.records[seeded[0]])
        #expect(first["content"] as? String == "phone rewrote this" && first["notes"] as? String == "laptop note")
        #expect(Set(first["tags"] as? [String] ?? []) == ["stoic", "phone", "laptop"])
        #expect(phone.records[seeded[1]] == nil, "the delete wins over the offline edit")
        #expect(phone.records[seeded[2]]?["notes"] as? String == "from the web on n2")
        #expect(phone.records[seeded[3]] != nil && phone.records["phonenew000001a"] != nil && phone.records["laptopnew00001a"] != nil)

        // Resending either batch, to any node, changes nothing.
        let digest = try #require(try await cluster.waitUntilConverged(["n1", "n2", "n3"]))
        for (device, node) in [(laptop, "n1"), (phone, "n2"), (laptop, "n3")] {
            let again = try await cluster.http(node).send("POST", "/api/sync", token: token, json: device.lastBatch)
            #expect(again.status == 200 && again.json["applied"] as? Int == 0, "resend of \(device.name) to \(node)")
        }
        #expect(try await cluster.waitUntilConverged(["n1", "n2", "n3"]) == digest)
    }
}
