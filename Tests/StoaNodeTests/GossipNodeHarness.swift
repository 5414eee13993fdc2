import Foundation
import Logging
import NIOCore
import NIOPosix
import StoaCore
import StoaGossip
import StoaStore
import Synchronization
@testable import StoaNode

/// A ``ClusterNode`` running in process on a loopback gossip port, over an in-memory database.
/// Always ``stop()`` it.
struct GossipNode {
    static let key = "gossip-test-key"

    let node: ClusterNode
    let database: StoaDatabase
    let port: Int
    private let task: Task<Void, any Error>

    static func start(
        _ name: String, join: [Int] = [], limits: StreamLimits = StreamLimits(), maxDatagramBytes: Int = ClusterConfiguration.defaultMaxDatagramBytes
    ) async throws -> GossipNode {
        let database = try StoaDatabase.inMemory(nodeName: name)
        let configuration = ClusterConfiguration(
            gossipHost: "127.0.0.1", gossipPort: 0, join: join.map { MemberAddress(host: "127.0.0.1", port: $0) }, keyring: ClusterKeyring(keys: [key]),
            httpURL: "http://127.0.0.1:1", streamLimits: limits, maxDatagramBytes: maxDatagramBytes
        )
        var logger = Logger(label: "test.\(name)")
        logger.logLevel = .warning
        let node = ClusterNode(configuration: configuration, database: database, logger: logger)
        let task = Task { try await node.run() }
        for _ in 0..<500 {
            if let port = await node.gossipPort { return GossipNode(node: node, database: database, port: port, task: task) }
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        throw GossipTestError.didNotBind
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// True once this node sees every one of `names` alive.
    func sees(_ names: [String]) async -> Bool {
        let members = await node.status().members
        return names.allSatisfy { name in members.contains { $0.name == name && $0.status == "alive" } }
    }

    func createQuote(_ id: String) async throws {
        _ = try await database.create(.quotes, id: id, fields: ["content": .string("quote \(id)"), "userId": .string("u1")])
    }

    func has(_ id: String) async throws -> Bool {
        try await database.record(.quotes, id: id, owner: nil) != nil
    }

    var transport: TransportCounters { node.transportCounters }
}

enum GossipTestError: Error { case didNotBind }

/// Polls `condition` every 20 ms until it holds (true) or `timeout` passes (false).
func eventually(timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// A raw TCP connection to a gossip port, as an attacker (or a hand-made peer) opens one.
final class RawGossipConnection: Sendable {
    let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    static func open(port: Int) async throws -> RawGossipConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Discard()) } }
            .connect(host: "127.0.0.1", port: port).get()
        return RawGossipConnection(channel: channel)
    }

    /// Sends raw bytes.
    func send(_ bytes: [UInt8]) async throws { try await channel.writeAndFlush(ByteBuffer(bytes: bytes)) }

    /// Sends a frame: its 4-byte length, then `payload`.
    func sendFrame(_ payload: [UInt8]) async throws { try await send(Self.length(payload.count) + payload) }

    /// Sends a hello sealed for the node named `destination`, as a peer opens a connection.
    func sendHello(from name: String = "peer", to destination: String, key: String = GossipNode.key) async throws {
        try await sendFrame(FrameSealer(clusterKey: key).seal(WireCodec.encode(.hello(from: name)), to: destination, on: .stream))
    }

    static func length(_ count: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(count).bigEndian, Array.init) }

    var isOpen: Bool { channel.isActive }

    /// Waits until the node closes the connection; the time it took, or nil when still open after `timeout`.
    func waitForClose(timeout: Duration) async -> Duration? {
        let start = ContinuousClock.now
        while channel.isActive, ContinuousClock.now - start < timeout { try? await Task.sleep(for: .milliseconds(10)) }
        return channel.isActive ? nil : ContinuousClock.now - start
    }

    func close() { channel.close(promise: nil) }

    private final class Discard: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    }
}
