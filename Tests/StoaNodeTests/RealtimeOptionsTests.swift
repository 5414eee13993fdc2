import Foundation
import Hummingbird
import StoaStore
import Testing
@testable import StoaNode

@Suite("Realtime subscription options (filter, fields, expand)")
struct RealtimeOptionsTests {
    /// A subscription string with PocketBase's `options` (as the JS SDK writes it:
    /// `encodeURIComponent(JSON.stringify(options))`).
    static func subscription(_ topic: String, query: [String: Any]) throws -> String {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: ["query": query]), as: UTF8.self)
        return topic + "?options=" + json.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    }

    @Test("filter selects the events, fields and expand shape the record; a plain subscription still gets every event")
    func filterFieldsExpand() async throws {
        try await withNode(live: true) { api in
            let alice = try await api.user("alice@example.com")
            let probe = try await SSEProbe.open(port: try #require(api.client.port))
            let clientID = try #require(await probe.next()?.json["clientId"] as? String)
            let shaped = try Self.subscription("quotes", query: ["filter": "author = 'Seneca'", "fields": "id,content,expand", "expand": "userId"])
            let broken = try Self.subscription("quotes/*", query: ["filter": "nope ="])
            let subscribed = try await api.request(.post, "/api/realtime", token: alice.token, json: ["clientId": clientID, "subscriptions": ["quotes/*", shaped, broken]])
            #expect(subscribed.status == .noContent)

            let other = try #require(try await api.createQuote(alice.token, ["content": "not his", "author": "Marcus"]).json["id"] as? String)
            let plainOther = try #require(await probe.next())
            #expect(plainOther.event == "quotes/*" && plainOther.record["id"] as? String == other)

            let seneca = try #require(try await api.createQuote(alice.token, ["content": "his", "author": "Seneca"]).json["id"] as? String)
            var events: [SSEEvent] = []
            for _ in 0..<2 { events.append(try #require(await probe.next())) }
            #expect(Set(events.map(\.event)) == ["quotes/*", shaped], "the filtered subscription skipped Marcus; the broken one gets nothing")
            let event = try #require(events.first { $0.event == shaped })
            #expect(event.action == "create")
            #expect(Set(event.record.keys) == ["id", "content", "expand"])
            #expect(event.record["id"] as? String == seneca && event.record["content"] as? String == "his")
            let user = try #require((event.record["expand"] as? [String: Any])?["userId"] as? [String: Any])
            #expect(user["id"] as? String == alice.id && user["email"] as? String == "alice@example.com")

            // The record leaves the filter: its update is not sent; its delete is checked against
            // the record as it was last (PocketBase checks before the delete).
            #expect(try await api.request(.patch, "/api/collections/quotes/records/\(seneca)", token: alice.token, json: ["author": "Epictetus"]).status == .ok)
            #expect(try await probe.next()?.event == "quotes/*")
            #expect(try await api.request(.patch, "/api/collections/quotes/records/\(other)", token: alice.token, json: ["author": "Seneca"]).status == .ok)
            var updates: [SSEEvent] = []
            for _ in 0..<2 { updates.append(try #require(await probe.next())) }
            #expect(updates.contains { $0.event == shaped && $0.action == "update" && $0.record["id"] as? String == other })
            #expect(try await api.request(.delete, "/api/collections/quotes/records/\(other)", token: alice.token).status == .noContent)
            var deletes: [SSEEvent] = []
            for _ in 0..<2 { deletes.append(try #require(await probe.next())) }
            #expect(deletes.contains { $0.event == shaped && $0.action == "delete" && $0.record["id"] as? String == other })
            #expect(await probe.next(timeout: .milliseconds(300)) == nil, "nothing else was sent")
            await probe.close()
        }
    }

    @Test("options are read as PocketBase reads them: URL-decoded JSON, query values as text, invalid JSON is no options")
    func parsing() throws {
        let full = RealtimeSubscription(try Self.subscription("quotes/abc", query: ["filter": "content ~ 'x'", "fields": "id", "expand": "userId", "perPage": 5]))
        #expect(full.collection == "quotes" && full.recordID == "abc")
        #expect(full.query == ["filter": "content ~ 'x'", "fields": "id", "expand": "userId", "perPage": "5"])
        #expect(full.isShaped && full.fields.names == ["id"])
        if case .success? = full.filter {} else { Issue.record("the filter parses") }
        let invalid = RealtimeSubscription("quotes?options=%7Bnot json")
        #expect(invalid.query.isEmpty && !invalid.isShaped && invalid.filter == nil)
        let empty = RealtimeSubscription("quotes?options=%7B%7D")
        #expect(!empty.isShaped)
        let badFilter = RealtimeSubscription(try Self.subscription("quotes", query: ["filter": "unknownField = 1"]))
        if case .failure? = badFilter.filter {} else { Issue.record("an unknown field fails to parse") }
        let byID = RealtimeSubscription(try Self.subscription(CollectionSchema.quotes.id, query: ["filter": "author = 'x'"]))
        if case .success? = byID.filter {} else { Issue.record("the collection may be named by id") }
    }
}
