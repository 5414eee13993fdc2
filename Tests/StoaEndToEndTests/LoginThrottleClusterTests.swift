import Foundation
import Testing

/// Issue 16: repeated failed logins for one account are slowed down whichever node they reach.
@Suite("Failed logins counted cluster-wide", .serialized, .timeLimit(.minutes(2)))
struct LoginThrottleClusterTests {
    @Test("ten wrong passwords on n1 make n2 refuse the next attempt for that account with 429; other accounts are unaffected")
    func sharedThrottle() async throws {
        let cluster = try LocalCluster(label: "throttle")
        defer { cluster.stopAll() }
        try cluster.start(["n1", "n2"])
        #expect(try await cluster.waitUntilJoined())
        for email in ["target@example.com", "bystander@example.com"] {
            #expect(try await cluster.http("n1").send("POST", "/api/collections/users/records", json: ["email": email, "password": "12345678", "passwordConfirm": "12345678"]).status == 200)
        }
        #expect(try await eventually { try await cluster.http("n2").send("POST", "/api/collections/users/auth-with-password", json: ["identity": "bystander@example.com", "password": "12345678"]).status == 200 })
        for _ in 0..<10 {
            #expect(try await cluster.http("n1").send("POST", "/api/collections/users/auth-with-password", json: ["identity": "target@example.com", "password": "wrong-guess"]).status == 400)
        }
        let refused = try await eventually(timeout: .seconds(5)) {
            try await cluster.http("n2").send("POST", "/api/collections/users/auth-with-password", json: ["identity": "TARGET@example.com", "password": "12345678"]).status == 429
        }
        #expect(refused, "n2 counts the failures n1 saw")
        #expect(try await cluster.http("n2").send("POST", "/api/collections/users/auth-with-password", json: ["identity": "bystander@example.com", "password": "12345678"]).status == 200)
    }
}
