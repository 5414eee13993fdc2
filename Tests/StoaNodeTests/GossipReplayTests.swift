import NIOCore
import NIOPosix
import StoaCore
import StoaGossip
import Testing
@testable import StoaNode

/// Captured cluster traffic sent again to a running node: refused and counted, never applied.
@Suite("Replayed and misdirected cluster traffic", .serialized)
struct GossipReplayTests {
    @Test("a captured datagram sent again is dropped as a replay; sent to another node, as unauthenticated")
    func datagram() async throws {
        let n1 = try await GossipNode.start("n1")
        let n2 = try await GossipNode.start("n2")
        do {
            let sender = FrameSealer(clusterKey: GossipNode.key)
            let envelope = SWIMEnvelope(
                from: MemberID(name: "ghost", host: "127.0.0.1", port: 9), fromMeta: MemberRole.node(httpURL: "http://127.0.0.1:1").meta,
                fromIncarnation: 1, message: .ping(sequence: 1, gossip: [])
            )
            let captured = sender.seal(WireCodec.encode(.swim(envelope)), to: "n1", on: .datagram)
            let socket = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
            func send(_ bytes: [UInt8], to port: Int) async throws {
                let target = try SocketAddress(ipAddress: "127.0.0.1", port: port)
                try await socket.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: bytes)))
            }
            try await send(captured, to: n1.port)
            #expect(await eventually(timeout: .seconds(5)) { await n1.node.status().members.contains { $0.name == "ghost" } })
            let authenticationBefore = n2.transport.count(.authentication)
            try await send(captured, to: n1.port)
            try await send(captured, to: n2.port)
            #expect(await eventually(timeout: .seconds(5)) { n1.transport.count(.replay) == 1 })
            #expect(await eventually(timeout: .seconds(5)) { n2.transport.count(.authentication) == authenticationBefore + 1 })
            #expect(await !n2.node.status().members.contains { $0.name == "ghost" })
            #expect(await n1.node.status().counters.transport["replay"] == 1)
            try await socket.close()
        }
        await n2.stop()
        await n1.stop()
    }

    @Test("a captured stream sent again on a new connection is closed at its first frame as a replay; sent to another node, as unauthenticated")
    func stream() async throws {
        let n1 = try await GossipNode.start("n1")
        let n2 = try await GossipNode.start("n2")
        do {
            let sender = FrameSealer(clusterKey: GossipNode.key)
            let hello = sender.seal(WireCodec.encode(.hello(from: "peer")), to: "n1", on: .stream)
            let vector = sender.seal(WireCodec.encode(.vector(from: "peer", VersionVector())), to: "n1", on: .stream)
            let original = try await RawGossipConnection.open(port: n1.port)
            try await original.sendFrame(hello)
            try await original.sendFrame(vector)
            #expect(await eventually(timeout: .seconds(5)) { n1.node.streamRegistry.openConnections.authenticated == 1 })
            #expect(n1.transport.count(.replay) == 0)

            let replayed = try await RawGossipConnection.open(port: n1.port)
            try await replayed.sendFrame(hello)
            // The node may already have closed it at the hello.
            try? await replayed.sendFrame(vector)
            #expect(await replayed.waitForClose(timeout: .seconds(5)) != nil)
            #expect(n1.transport.count(.replay) == 1)

            // The tail of the captured stream alone, on the connection it came on: refused too.
            try await original.sendFrame(vector)
            #expect(await original.waitForClose(timeout: .seconds(5)) != nil)
            #expect(n1.transport.count(.replay) == 2)

            let misdirected = try await RawGossipConnection.open(port: n2.port)
            try await misdirected.sendFrame(hello)
            #expect(await misdirected.waitForClose(timeout: .seconds(5)) != nil)
            #expect(n2.transport.count(.authentication) == 1)
        }
        await n2.stop()
        await n1.stop()
    }
}
