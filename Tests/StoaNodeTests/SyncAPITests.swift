import Foundation
import Hummingbird
import Testing

@Suite("/api/sync over HTTP")
struct SyncAPITests {
    func nowMillis() -> Int { Int(Date().timeIntervalSince1970 * 1000) }

    @Test("a device pulls its changes in pages with an opaque cursor; bad cursors and guests are refused")
    func pull() async throws {
        try await withNode { api in
            let alice = try await api.user("alice@example.com")
            let bob = try await api.user("bob@example.com")
            var ids: [String] = []
            for n in 0..<12 { ids.append(try await api.createQuote(alice.token, ["content": "q\(n)"]).json["id"] as? String ?? "") }
            _ = try await api.createQuote(bob.token, ["content": "bob's"])
            #expect(try await api.request(.delete, "/api/collections/quotes/records/\(ids[0])", token: alice.token).status == .noContent)

            var cursor = ""
            var seen: [String] = []
            var deleted: [String] = []
            for _ in 0..<10 {
                let page = try await api.request(.get, "/api/sync?perPage=5&since=\(cursor)", token: alice.token)
                #expect(page.status == .ok)
                seen += page.items.compactMap { $0["id"] as? String }
                deleted += page.json["deleted"] as? [String] ?? []
                cursor = page.json["cursor"] as? String ?? ""
                if page.json["hasMore"] as? Bool != true { break }
            }
            #expect(Set(seen) == Set(ids.dropFirst()) && seen.count == 11 && deleted == [ids[0]])
            let quiet = try await api.request(.get, "/api/sync?since=\(cursor)", token: alice.token)
            #expect(quiet.items.isEmpty && (quiet.json["deleted"] as? [String])?.isEmpty == true)

            let guest = try await api.request(.get, "/api/sync")
            #expect(guest.status == .unauthorized)
            let bad = try await api.request(.get, "/api/sync?since=v1.bm90LWEtY3Vyc29y", token: alice.token)
            #expect(bad.status == .badRequest && bad.dataCode("since") == "validation_invalid_cursor")
            #expect(try await api.request(.get, "/api/sync?perPage=0", token: alice.token).status == .badRequest)
        }
    }

    @Test("a device pushes offline edits; resending is harmless; a bad batch is refused whole with a 4xx")
    func push() async throws {
        try await withNode { api in
            let alice = try await api.user("alice@example.com")
            let bob = try await api.user("bob@example.com")
            let bobs = try await api.createQuote(bob.token, ["content": "bob's"]).json["id"] as? String ?? ""
            let t = nowMillis() - 60_000
            let batch: [String: Any] = ["device": "phone-1", "changes": [
                ["id": "offline00000001", "op": "upsert", "time": t, "fields": ["content": "written offline", "tags+": ["x"]]],
                ["id": "offline00000001", "op": "upsert", "time": t + 10, "fields": ["notes": "and annotated"]],
                ["id": "offline00000002", "op": "upsert", "time": t + 20, "fields": ["content": "short-lived"]],
                ["id": "offline00000002", "op": "delete", "time": t + 30],
            ]]
            let first = try await api.request(.post, "/api/sync", token: alice.token, json: batch)
            #expect(first.status == .ok)
            #expect(first.json["applied"] as? Int == 4 && first.json["unchanged"] as? Int == 0)
            #expect(first.items.count == 1 && first.items.first?["notes"] as? String == "and annotated")
            #expect(first.items.first?["tags"] as? [String] == ["x"] && first.items.first?["userId"] as? String == alice.id)
            #expect(first.json["deleted"] as? [String] == ["offline00000002"])
            let again = try await api.request(.post, "/api/sync", token: alice.token, json: batch)
            #expect(again.json["applied"] as? Int == 0 && again.json["unchanged"] as? Int == 4)
            #expect(try await api.count(alice.token) == 1)

            let view = try await api.request(.get, "/api/collections/quotes/records/offline00000001", token: alice.token)
            #expect(view.json["content"] as? String == "written offline")

            func refused(_ changes: [[String: Any]], device: Any = "phone-1") async throws -> APIResponse {
                try await api.request(.post, "/api/sync", token: alice.token, json: ["device": device, "changes": changes])
            }
            let good: [String: Any] = ["id": "offline00000003", "op": "upsert", "time": t + 40, "fields": ["content": "would be new"]]
            #expect(try await refused([good], device: "bad device!").dataCode("device") == "validation_invalid_value")
            #expect(try await refused([good, ["id": "offline00000003", "op": "merge", "time": t]]).dataCode("changes.1.op") == "validation_invalid_value")
            #expect(try await refused([good, ["id": "SHORT", "op": "delete", "time": t]]).dataCode("changes.1.id") == "validation_invalid_format")
            #expect(try await refused([good, ["id": "offline00000004", "op": "upsert", "time": t + 40, "fields": ["content": "same stamp"]]]).dataCode("changes.1.counter") == "validation_not_unique")
            #expect(try await refused([good, ["id": "offline00000004", "op": "upsert", "time": t + 50, "fields": ["content": 5]]]).dataCode("changes.1.content") == "validation_invalid_type")
            #expect(try await refused([good, ["id": "offline00000004", "op": "upsert", "time": t + 50, "fields": ["notes": "no content"]]]).dataCode("changes.1.content") == "validation_required")
            #expect(try await refused([good, ["id": "offline00000004", "op": "upsert", "time": t + 50, "fields": ["content": "c", "userId": bob.id]]]).dataCode("changes.1.userId") == "validation_invalid_value")
            #expect(try await refused([good, ["id": "offline00000004", "op": "delete", "time": nowMillis() + 3_600_000]]).dataCode("changes.1.time") == "validation_time_in_future")
            let foreign = try await refused([good, ["id": bobs, "op": "upsert", "time": t + 50, "fields": ["content": "mine now"]]])
            #expect(foreign.status == .notFound && foreign.dataCode("changes.1.id") == "validation_not_found")
            #expect(try await api.request(.get, "/api/collections/quotes/records/offline00000003", token: alice.token).status == .notFound, "nothing of a refused batch is written")
            #expect(try await api.request(.get, "/api/collections/quotes/records/\(bobs)", token: bob.token).json["content"] as? String == "bob's")
            #expect(try await api.request(.post, "/api/sync", json: batch).status == .unauthorized)
            #expect(try await api.request(.post, "/api/sync", token: alice.token, raw: Array("{not json".utf8)).status == .badRequest)
        }
    }
}
