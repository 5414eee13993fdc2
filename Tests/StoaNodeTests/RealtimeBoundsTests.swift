import Foundation
import Hummingbird
import StoaCore
import StoaStore
import Testing
@testable import StoaNode

/// Issue 18, item 3: one client subscribing a thousand names to its own 30 KB quote and never
/// reading made the node grow ~30 MB per patch. Queues are bounded in bytes, per client and in
/// total.
@Suite("Realtime memory bounds")
struct RealtimeBoundsTests {
    func identity(_ user: String) -> AuthIdentity { AuthIdentity(userID: user, collectionID: CollectionSchema.users.id, refreshable: true) }

    func event(content: String, owner: String) -> RecordEvent {
        let record = StoredRecord(collection: "quotes", id: "rec000000000001", values: ["content": .string(content), "userId": .string(owner)], tags: [], created: "", updated: "")
        return RecordEvent(action: .update, record: record, owner: owner)
    }

    @Test("a client subscribed 1,000 times to its own 30 KB quote is dropped at its byte bound before its messages are built; others keep receiving")
    func perClientBytes() async throws {
        let broker = RealtimeBroker(queueLimit: 1024, queueByteLimit: 1 << 20, totalByteLimit: 64 << 20, pingInterval: .seconds(3600))
        let (greedy, greedyStream) = broker.connect()
        let (normal, normalStream) = broker.connect()
        try broker.subscribe(client: greedy, identity: identity("u1"), subscriptions: (0..<1000).map { "quotes?options=\($0)" })
        try broker.subscribe(client: normal, identity: identity("u1"), subscriptions: ["quotes"])
        #expect(broker.statistics.subscriptions == 1001)
        let big = String(repeating: "x", count: 30_000)
        for _ in 0..<30 { broker.deliver([event(content: big, owner: "u1")]) }

        #expect(broker.statistics.droppedClients == 1)
        #expect(broker.statistics.subscriptions == 1, "the dropped client's subscriptions are gone")
        // What stays queued is the normal client's 30 events (it has not read yet), not 30 x 30 MB.
        let queued = broker.statistics.queuedBytes
        #expect(queued > 30 * 30_000 && queued < 31 * 31_000, "queued \(queued) bytes")
        var drained = 0
        for await _ in greedyStream { drained += 1 }
        #expect(drained <= 1, "the greedy client got at most its PB_CONNECT, then its stream ended")

        var iterator = normalStream.makeAsyncIterator()
        var received = 0
        while received < 31, let message = await iterator.next() {
            broker.written(normal, bytes: message.readableBytes)
            received += 1
        }
        #expect(received == 31)
        #expect(broker.statistics.queuedBytes == 0, "bytes are released as the writer writes them")
    }

    @Test("the bound of all clients together drops the client whose messages would pass it")
    func totalBytes() async throws {
        let broker = RealtimeBroker(queueLimit: 1024, queueByteLimit: 1 << 20, totalByteLimit: 200_000, pingInterval: .seconds(3600))
        var streams: [AsyncStream<ByteBuffer>] = []   // kept: a client whose stream is gone is dropped
        for _ in 0..<10 {
            let (id, stream) = broker.connect()
            try broker.subscribe(client: id, identity: identity("u1"), subscriptions: ["quotes"])
            streams.append(stream)
        }
        broker.deliver([event(content: String(repeating: "y", count: 30_000), owner: "u1")])
        // Each client's message is ~30 KB: six fit under 200,000 bytes, the others are dropped.
        #expect(broker.statistics.droppedClients == 4)
        #expect(broker.statistics.queuedBytes <= 200_000)
        #expect(broker.statistics.delivered == 6)
        #expect(streams.count == 10)
    }
}
