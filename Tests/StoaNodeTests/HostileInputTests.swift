import Foundation
import Hummingbird
import Testing
@testable import StoaNode

/// Issue 18's request-level attacks on one node: each gets a clear 4xx and the node carries on.
@Suite("Hostile input")
struct HostileInputTests {
    @Test("the sync cursor with a counter of 2^64-1 is a 400 and the node keeps serving")
    func overflowingCursor() async throws {
        try await withNode { api in
            let alice = try await api.user("alice@example.com")
            let attack = "v1.eyJzIjp7ImVudHJpZXMiOnsienoiOnsiYyI6MTg0NDY3NDQwNzM3MDk1NTE2MTUsIngiOlsxXX19fX0"
            let response = try await api.request(.get, "/api/sync?since=\(attack)", token: alice.token)
            #expect(response.status == .badRequest && response.dataCode("since") == "validation_invalid_cursor")
            #expect(try await api.request(.get, "/api/health").status == .ok)
        }
    }

    @Test("20,000 distinct tags are refused as over the 100-tag limit; duplicates do not count; nothing is created")
    func manyTags() async throws {
        try await withNode(maxBodyBytes: 1 << 20) { api in
            let alice = try await api.user("alice@example.com")
            let tags = (0..<20_000).map { "t\($0)" }
            let response = try await api.createQuote(alice.token, ["content": "x", "tags": tags])
            #expect(response.status == .badRequest && response.dataCode("tags") == "validation_length_out_of_range")
            let repeated = try await api.createQuote(alice.token, ["content": "x", "tags": Array(repeating: "same", count: 20_000)])
            #expect(repeated.status == .ok && repeated.json["tags"] as? [String] == ["same"])
            #expect(try await api.count(alice.token) == 1)
        }
    }
}
