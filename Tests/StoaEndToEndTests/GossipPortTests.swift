import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Issue 18, item 4, replayed against node processes: connections without the cluster key at a
/// node's gossip port must not keep a peer's changes out nor cost the node memory.
@Suite("The gossip port against connections without the key", .serialized, .timeLimit(.minutes(3)))
struct GossipPortTests {
    @Test("64 idle connections and 63 incomplete 8 MiB frames at a node's gossip port, renewed all along: a new peer joins, its write arrives within 3 s, and the node's memory hardly grows")
    func gossipStarvation() async throws {
        let cluster = try LocalCluster(label: "gossip-attack")
        defer { cluster.stopAll() }
        try cluster.start(["n1"])
        let n1 = cluster.node("n1")
        let port = n1.gossipPort
        let before = residentBytes(n1.process.processIdentifier)

        // The attack: in place before the peer starts, and renewed until the end.
        let attacker = GossipAttacker()
        attacker.burst(port: port)
        let renewal = Task.detached {
            while !Task.isCancelled {
                attacker.burst(port: port, idle: 10, frames: 1)
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer {
            renewal.cancel()
            attacker.closeAll()
        }

        try cluster.startNode("n2", join: [port])
        #expect(try await cluster.waitUntilJoined())
        let signUp = try await cluster.http("n2").send("POST", "/api/collections/users/records", json: [
            "email": "peer@example.com", "password": "12345678", "passwordConfirm": "12345678",
        ])
        #expect(signUp.status == 200)
        let start = ContinuousClock.now
        let arrived = try await eventually(timeout: .seconds(10)) {
            try await cluster.http("n1").send("POST", "/api/collections/users/auth-with-password", json: ["identity": "peer@example.com", "password": "12345678"]).status == 200
        }
        #expect(arrived, "the peer's write reached n1")
        #expect(ContinuousClock.now - start < .seconds(3), "promptly: \(ContinuousClock.now - start)")

        renewal.cancel()
        _ = await renewal.value
        try await Task.sleep(for: .milliseconds(300))
        let after = residentBytes(n1.process.processIdentifier)
        #expect(after - before < 64 << 20, "n1 grew by \((after - before) >> 20) MiB (before the fix: 520 MB)")
        #expect(attacker.opened >= 127)
        let metrics = try await prometheusText(n1.baseURL)
        // Every attacking connection but the newest four was closed: at once for a frame over
        // 64 KiB, else for a newer one from the same address — or, when a loaded machine slowed
        // the renewal, for sending no sealed hello within 5 s.
        let oversized = sample(metrics, #"stoa_cluster_messages_rejected_total{reason="oversized_unauthenticated"}"#)
        let evicted = sample(metrics, #"stoa_cluster_messages_rejected_total{reason="address_limit"}"#)
        let silent = max(0, sample(metrics, #"stoa_cluster_messages_rejected_total{reason="hello_timeout"}"#))
        #expect(oversized >= 1 && evicted >= 1 && oversized + evicted + silent >= Double(attacker.opened - 4),
                "\(oversized) + \(evicted) + \(silent) of \(attacker.opened)")
        #expect(sample(metrics, #"stoa_cluster_stream_connections{state="unauthenticated"}"#) <= 4)
        #expect(sample(metrics, "stoa_cluster_stream_incomplete_frame_bytes") <= 4 * 65540)
        #expect(try await cluster.http("n1").send("GET", "/api/health").status == 200)
    }
}

/// Connections without the cluster key to a gossip port: idle ones, and ones that send all but
/// the last bytes of an 8 MiB frame. Keeps at most 400 open (closing its oldest).
final class GossipAttacker: @unchecked Sendable {
    private let lock = NSLock()
    private var sockets: [AttackSocket] = []
    private var count = 0
    static let frame = [UInt8](repeating: 0x5A, count: (8 << 20) - 16)

    var opened: Int { lock.withLock { count } }

    func burst(port: Int, idle: Int = 64, frames: Int = 63) {
        var opened: [AttackSocket] = []
        for index in 0..<(idle + frames) {
            guard let socket = try? AttackSocket.connect(port: port) else { continue }
            if index >= idle { socket.sendAll([0x00, 0x80, 0x00, 0x00] + Self.frame, timeout: .milliseconds(100)) }
            opened.append(socket)
        }
        let closing: [AttackSocket] = lock.withLock {
            count += opened.count
            sockets += opened
            let excess = max(0, sockets.count - 400)
            defer { sockets.removeFirst(excess) }
            return Array(sockets.prefix(excess))
        }
        for socket in closing { socket.close() }
    }

    func closeAll() {
        for socket in lock.withLock({ sockets }) { socket.close() }
        lock.withLock { sockets.removeAll() }
    }
}
