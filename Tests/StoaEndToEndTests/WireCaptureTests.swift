import Foundation
import Testing

/// What crosses the wire between real node processes, seen by tcpdump on loopback.
@Suite("Cluster traffic on the wire", .serialized, .timeLimit(.minutes(3)))
struct WireCaptureTests {
    let names = ["n1", "n2", "n3"]

    @Test("quotes, emails and password hashes never cross the gossip ports in clear; the same marker is seen on the HTTP ports (control)")
    func noClearTextOnGossipPorts() async throws {
        let cluster = try LocalCluster(label: "wire")
        defer { cluster.stopAll() }
        try cluster.start(names)
        #expect(try await cluster.waitUntilJoined())

        let gossip: PacketCapture
        let http: PacketCapture
        do {
            gossip = try PacketCapture.start(ports: names.map { cluster.node($0).gossipPort }, file: cluster.root.appendingPathComponent("gossip.pcap"))
            http = try PacketCapture.start(ports: names.map { cluster.node($0).port }, file: cluster.root.appendingPathComponent("http.pcap"))
        } catch let unavailable as PacketCapture.Unavailable {
            print("WireCaptureTests skipped: \(unavailable)")
            try Test.cancel("skipped: \(unavailable)")
        }

        let marker = "stoamarker" + UUID().uuidString.prefix(8).lowercased()
        let email = "\(marker)@example.com"
        let signUp = try await cluster.http("n1").send("POST", "/api/collections/users/records", json: ["email": email, "password": "pw-\(marker)", "passwordConfirm": "pw-\(marker)"])
        #expect(signUp.status == 200)
        let token = try #require(try await cluster.http("n1").send("POST", "/api/collections/users/auth-with-password", json: ["identity": email, "password": "pw-\(marker)"]).json["token"] as? String)
        var ids: [String] = []
        for index in 0..<20 {
            let node = names[index % 2]
            let reply = try await cluster.http(node).send("POST", "/api/collections/quotes/records", token: token, json: [
                "content": "\(marker) quote \(index)", "author": "\(marker) author", "notes": "\(marker) notes", "tags": [marker],
            ])
            #expect(reply.status == 200)
            if let id = reply.json["id"] as? String { ids.append(id) }
        }
        // Everything replicated to n3 (which took no write), and the user can log in there.
        for id in ids {
            #expect(try await eventually { try await cluster.http("n3").send("GET", "/api/collections/quotes/records/\(id)", token: token).status == 200 })
        }
        #expect(try await eventually {
            try await cluster.http("n3").send("POST", "/api/collections/users/auth-with-password", json: ["identity": email, "password": "pw-\(marker)"]).status == 200
        })
        // A few anti-entropy rounds and probes on the wire too.
        try await Task.sleep(for: .seconds(3))

        let gossipBytes = gossip.stop()
        let httpBytes = http.stop()
        let packets = PacketCapture.packetCount(gossipBytes)
        print("WireCaptureTests: \(packets) gossip packets (\(gossipBytes.count) bytes), \(PacketCapture.packetCount(httpBytes)) HTTP packets captured")
        #expect(packets >= 50, "the gossip capture saw the cluster's traffic")
        #expect(!contains(gossipBytes, marker), "the marker crossed a gossip port in clear")
        for prefix in ["$2a$04$", "$2b$04$", "$2y$04$", "@example.com"] {
            #expect(!contains(gossipBytes, prefix), "\(prefix) crossed a gossip port in clear")
        }
        #expect(contains(httpBytes, marker), "control: the marker is in the HTTP capture")
    }
}
