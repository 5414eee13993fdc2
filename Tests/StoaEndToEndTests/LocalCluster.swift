import Foundation
import Testing

/// Real `stoa node` processes forming a cluster on loopback: n1 starts first, the others join
/// it. Every process is stopped by ``stopAll()`` (call it in a `defer`).
final class LocalCluster: @unchecked Sendable {
    let root: URL
    private(set) var nodes: [String: NodeProcess] = [:]
    let lock = NSLock()

    init(label: String) throws {
        root = try temporaryDirectory(label)
    }

    /// Starts `names` in order; the first one is the seed the others join.
    func start(_ names: [String]) throws {
        for name in names { try startNode(name, join: seedPorts()) }
    }

    func seedPorts() -> [Int] {
        lock.withLock { nodes.values.filter { $0.process.isRunning }.map(\.gossipPort).filter { $0 > 0 }.sorted() }
    }

    /// Starts (or restarts, on the same data folder and gossip port) node `name`.
    @discardableResult
    /// With `sameHTTPPort`, a restart also keeps the HTTP port (as a deployed node does).
    /// `dataDirectory` replaces the node's usual folder (a restored backup); `extraArguments` go
    /// to `stoa node` (with `clusterKey` nil, they give the keys, e.g. `--cluster-key-file`).
    func startNode(
        _ name: String, join: [Int], clusterKey: String? = "e2e-cluster-key", sameHTTPPort: Bool = false,
        dataDirectory: URL? = nil, extraArguments: [String] = []
    ) throws -> NodeProcess {
        let previousPort = lock.withLock { nodes[name]?.gossipPort ?? 0 }
        let httpPort = sameHTTPPort ? lock.withLock { nodes[name]?.port ?? 0 } : 0
        let node = NodeProcess(
            name: name, dataDirectory: dataDirectory ?? root.appendingPathComponent(name), clusterKey: clusterKey,
            join: join.filter { $0 != previousPort }, gossipPort: previousPort, httpPort: httpPort, extraArguments: extraArguments
        )
        try node.start()
        lock.withLock { nodes[name] = node }
        return node
    }

    func node(_ name: String) -> NodeProcess {
        lock.withLock { nodes[name]! }
    }

    func http(_ name: String) -> HTTPJSON { HTTPJSON(base: node(name).baseURL) }

    func stopAll() {
        for node in lock.withLock({ Array(nodes.values) }) { node.kill(signal: SIGKILL) }
        try? FileManager.default.removeItem(at: root)
    }

    /// `/api/cluster` of a node.
    func status(_ name: String, digest: Bool = false) async throws -> [String: Any] {
        try await http(name).send("GET", "/api/cluster" + (digest ? "?digest=1" : "")).json
    }

    /// The state each member has in `name`'s view.
    func memberStates(seenBy name: String) async throws -> [String: String] {
        let members = try await status(name)["members"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: members.compactMap { member in
            (member["name"] as? String).map { ($0, member["status"] as? String ?? "") }
        })
    }

    /// Waits until every running node sees every other running node alive.
    func waitUntilJoined(timeout: Duration = .seconds(20)) async throws -> Bool {
        try await eventually(timeout: timeout) {
            let running = self.lock.withLock { self.nodes.filter { $0.value.process.isRunning }.map(\.key) }
            for name in running {
                let states = try await self.memberStates(seenBy: name)
                guard running.filter({ $0 != name }).allSatisfy({ states[$0] == "alive" }) else { return false }
            }
            return true
        }
    }

    /// Waits until all `names` report the same digest; returns it (nil on timeout).
    func waitUntilConverged(_ names: [String], timeout: Duration = .seconds(20)) async throws -> String? {
        var digest: String?
        let converged = try await eventually(timeout: timeout) {
            var digests = Set<String>()
            for name in names { digests.insert(try await self.status(name, digest: true)["digest"] as? String ?? "?") }
            digest = digests.first
            return digests.count == 1
        }
        return converged ? digest : nil
    }
}

/// Polls `check` every 100 ms until it is true or `timeout` passes.
func eventually(timeout: Duration = .seconds(15), _ check: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await check()) == true { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await check()
}
