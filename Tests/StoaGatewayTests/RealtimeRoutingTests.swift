import NIOCore
import Testing
@testable import StoaGateway

@Suite("Realtime through the gateway: a subscription goes to the node holding the stream")
struct RealtimeRoutingTests {
    @Test("the client id names the node; only that node is leased, never another")
    func pinnedToTheStreamsNode() throws {
        #expect(GatewayResponder.realtimeNode(ByteBuffer(string: #"{"clientId":"n2.abcdefghijklmnopqrstuvwxyz0123","subscriptions":["quotes"]}"#)) == "n2")
        #expect(GatewayResponder.realtimeNode(ByteBuffer(string: #"{"clientId":"nodotid","subscriptions":[]}"#)) == nil)
        #expect(GatewayResponder.realtimeNode(ByteBuffer(string: "not json")) == nil)

        let pool = NodePoolTests.admitted(["n1", "n2", "n3"])
        for _ in 0..<20 {
            let lease = try #require(pool.acquire(only: "n2", now: 1))
            #expect(lease.name == "n2")
            pool.release(lease, outcome: .answered, now: 2)
        }
        #expect(pool.acquire(excluding: ["n2"], only: "n2", now: 3) == nil, "no fallback to another node")
        #expect(pool.acquire(only: "n9", now: 3) == nil)
    }
}
