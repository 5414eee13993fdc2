import Foundation
import Hummingbird
import StoaCore
import StoaStore
import Testing
@testable import StoaNode

@Suite("Realtime (PocketBase SSE)")
struct RealtimeTests {
    /// Opens an SSE stream and returns it with its client id (from PB_CONNECT).
    func connect(_ api: API) async throws -> (SSEProbe, String) {
        let probe = try await SSEProbe.open(port: try #require(api.client.port))
        let hello = try #require(await probe.next())
        #expect(hello.event == "PB_CONNECT")
        let clientID = try #require(hello.json["clientId"] as? String)
        #expect(hello.id == clientID && clientID.hasPrefix("n1.") && RealtimeBroker.node(ofClient: clientID) == "n1")
        return (probe, clientID)
    }

    @Test("PB_CONNECT, then create, update and delete events named by the subscription, for the owner only")
    func events() async throws {
        try await withNode(live: true) { api in
            let alice = try await api.user("alice@example.com")
            let bob = try await api.user("bob@example.com")
            let (probe, clientID) = try await connect(api)
            let subscribed = try await api.request(.post, "/api/realtime", token: alice.token, json: ["clientId": clientID, "subscriptions": ["quotes/*", "quotes?options=%7B%7D"]])
            #expect(subscribed.status == .noContent)

            // Bob's write is not for alice's client; alice's writes are, once per subscription.
            #expect(try await api.createQuote(bob.token, ["content": "bob's"]).status == .ok)
            let created = try await api.createQuote(alice.token, ["content": "first", "tags": ["a"]])
            let id = try #require(created.json["id"] as? String)
            for name in ["quotes/*", "quotes?options=%7B%7D"] {
                let event = try #require(await probe.next())
                #expect(event.event == name && event.id == clientID && event.action == "create")
                #expect(event.record["id"] as? String == id && event.record["content"] as? String == "first")
                #expect(event.record["tags"] as? [String] == ["a"] && event.record["collectionName"] as? String == "quotes")
            }
            // Narrow to the one record, then update and delete it.
            #expect(try await api.request(.post, "/api/realtime", token: alice.token, json: ["clientId": clientID, "subscriptions": ["quotes/\(id)"]]).status == .noContent)
            #expect(try await api.createQuote(alice.token, ["content": "another"]).status == .ok)
            #expect(try await api.request(.patch, "/api/collections/quotes/records/\(id)", token: alice.token, json: ["content": "second"]).status == .ok)
            let update = try #require(await probe.next())
            #expect(update.event == "quotes/\(id)" && update.action == "update" && update.record["content"] as? String == "second")
            #expect(try await api.request(.delete, "/api/collections/quotes/records/\(id)", token: alice.token).status == .noContent)
            let delete = try #require(await probe.next())
            #expect(delete.action == "delete" && delete.record["id"] as? String == id)
            await probe.close()
        }
    }

    @Test("subscription requests: unknown client 404, bad body 400, another identity 403, guests get nothing")
    func subscriptionRequests() async throws {
        try await withNode(live: true) { api in
            let alice = try await api.user("alice@example.com")
            let bob = try await api.user("bob@example.com")
            let unknown = try await api.request(.post, "/api/realtime", token: alice.token, json: ["clientId": "nope", "subscriptions": ["quotes"]])
            #expect(unknown.status == .notFound && unknown.message == "Missing or invalid client id.")
            let missing = try await api.request(.post, "/api/realtime", json: ["subscriptions": ["quotes"]])
            #expect(missing.status == .badRequest && missing.dataCode("clientId") == "validation_required")

            let (probe, clientID) = try await connect(api)
            let injected = try await api.request(.post, "/api/realtime", json: ["clientId": clientID, "subscriptions": ["quotes\nevent:x"]])
            #expect(injected.status == .badRequest && injected.dataCode("subscriptions") == "validation_invalid_value")
            let wrongType = try await api.request(.post, "/api/realtime", json: ["clientId": clientID, "subscriptions": "quotes"])
            #expect(wrongType.status == .badRequest)
            // A guest may subscribe (as in PocketBase) but sees no quote.
            #expect(try await api.request(.post, "/api/realtime", json: ["clientId": clientID, "subscriptions": ["quotes"]]).status == .noContent)
            let switched = try await api.request(.post, "/api/realtime", token: bob.token, json: ["clientId": clientID, "subscriptions": ["quotes"]])
            #expect(switched.status == .forbidden)
            #expect(try await api.createQuote(alice.token, ["content": "private"]).status == .ok)
            #expect(await probe.next(timeout: .milliseconds(300)) == nil)
            await probe.close()
        }
    }

    /// A broker with clients subscribed as `user`, driven without the network.
    func broker(queueLimit: Int) -> RealtimeBroker {
        RealtimeBroker(queueLimit: queueLimit, pingInterval: .seconds(3600))
    }

    func event(_ n: Int, owner: String, action: RecordAction = .update) -> RecordEvent {
        let record = StoredRecord(collection: "quotes", id: String(format: "rec%012d", n), values: ["content": .string("\(n)"), "userId": .string(owner)], tags: [], created: "", updated: "")
        return RecordEvent(action: action, record: record, owner: owner)
    }

    func identity(_ user: String) -> AuthIdentity { AuthIdentity(userID: user, collectionID: CollectionSchema.users.id, refreshable: true) }

    @Test("a client that does not read is disconnected and counted once its queue is full; others keep receiving")
    func slowClientDropped() async throws {
        let broker = broker(queueLimit: 8)
        let (slow, slowStream) = broker.connect()
        let (fast, fastStream) = broker.connect()
        try broker.subscribe(client: slow, identity: identity("u1"), subscriptions: ["quotes"])
        try broker.subscribe(client: fast, identity: identity("u1"), subscriptions: ["quotes"])
        var fastIterator = fastStream.makeAsyncIterator()
        _ = await fastIterator.next()   // PB_CONNECT
        for n in 1...20 {
            broker.deliver([event(n, owner: "u1")])
            let message = try #require(await fastIterator.next())
            #expect(String(buffer: message).contains("\"content\":\"\(n)\""))
        }
        #expect(broker.statistics.droppedClients == 1)
        #expect(broker.statistics.delivered == 20 + 7, "the slow client got what fitted in its queue")
        // The slow client's stream holds what was queued and then ends.
        var drained = 0
        for await _ in slowStream { drained += 1 }
        #expect(drained == 8)
        #expect(throws: RealtimeBroker.SubscribeError.unknownClient) {
            try broker.subscribe(client: slow, identity: identity("u1"), subscriptions: ["quotes"])
        }
    }

    @Test("events go only to the owner's clients and only to matching subscriptions; unheard events are not queued")
    func routing() async throws {
        let broker = broker(queueLimit: 64)
        let (a, aStream) = broker.connect()
        let (b, _) = broker.connect()
        try broker.subscribe(client: a, identity: identity("u1"), subscriptions: ["quotes/rec000000000002", "users/*"])
        try broker.subscribe(client: b, identity: identity("u2"), subscriptions: ["quotes"])
        broker.deliver([event(1, owner: "u1"), event(2, owner: "u1"), event(3, owner: "u3")])
        broker.publish([event(4, owner: "nobody")])
        var iterator = aStream.makeAsyncIterator()
        _ = await iterator.next()
        let message = String(buffer: try #require(await iterator.next()))
        #expect(message.hasPrefix("id:\(a)\nevent:quotes/rec000000000002\ndata:{\"action\":\"update\""))
        #expect(broker.statistics.delivered == 1)
        broker.disconnect(a)
        #expect(await iterator.next() == nil, "disconnecting ends the stream")
    }

    @Test("the messages one batch of events brings a client go out as one write")
    func batching() async throws {
        let broker = broker(queueLimit: 2)
        let (a, aStream) = broker.connect()
        try broker.subscribe(client: a, identity: identity("u1"), subscriptions: ["quotes", "quotes/*"])
        broker.deliver((1...50).map { event($0, owner: "u1") })
        var iterator = aStream.makeAsyncIterator()
        _ = await iterator.next()
        let write = String(buffer: try #require(await iterator.next()))
        #expect(write.components(separatedBy: "\nevent:quotes\n").count - 1 == 50)
        #expect(write.components(separatedBy: "\nevent:quotes/*\n").count - 1 == 50)
        #expect(broker.statistics.delivered == 100 && broker.statistics.droppedClients == 0)
    }
}
