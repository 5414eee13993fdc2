import Synchronization

/// The data nodes the gateway can route to, shared by the proxy (hot path), membership and
/// health checks. Selection is power of two choices by least in-flight requests among routable
/// nodes (Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing", 2001).
public final class NodePool: Sendable {
    private let state = Mutex<[String: UpstreamNode]>([:])
    /// The choices' random draws (SplitMix64 over an atomic counter): the system generator
    /// costs a `getrandom` system call per draw, two per request.
    private let draws = Atomic<UInt64>(UInt64.random(in: 0...UInt64.max))

    public init() {}

    /// A lease on one node for one request: returned by ``acquire(excluding:)`` and MUST be
    /// given back with ``release(_:outcome:now:)``.
    public struct Lease: Sendable {
        public let name: String
        public let url: String
        let startedAt: UInt64
    }

    public enum Outcome: Sendable {
        /// The node answered (any status).
        case answered
        /// The node could not be reached or cut the connection: eject it at once.
        case connectionFailed
    }

    // MARK: - Membership

    /// Records what membership says about a node (learned, status changed, new URL). A node
    /// that becomes dead or is new stays out of rotation until a health check admits it.
    /// `now` (monotonic nanoseconds) dates a new membership state (``UpstreamNode/membershipSince``).
    public func update(name: String, url: String, membership: UpstreamNode.Membership, now: UInt64? = nil) {
        state.withLock { nodes in
            if var node = nodes[name] {
                if node.url != url { node.ejected = true }
                node.url = url
                if membership == .dead { node.ejected = true }
                if node.membership != membership, let now { node.membershipSince = now }
                node.membership = membership
                nodes[name] = node
            } else {
                var node = UpstreamNode(name: name, url: url, membership: membership, ejected: true)
                node.membershipSince = now
                nodes[name] = node
            }
        }
    }

    /// Forgets a node (it left the cluster): no request goes to it any more.
    public func remove(name: String) {
        state.withLock { nodes in nodes[name] = nil }
    }

    /// Nodes to health-check: ejected ones that membership says are not dead.
    public func readmissionCandidates() -> [(name: String, url: String)] {
        state.withLock { nodes in nodes.values.filter { $0.ejected && $0.membership != .dead }.map { ($0.name, $0.url) } }
    }

    /// The result of a health check of `name` at `url`: a pass re-admits the node (when
    /// membership still agrees it is not dead and its URL did not change meanwhile).
    public func healthChecked(name: String, url: String, healthy: Bool, now: UInt64) {
        state.withLock { nodes in
            guard var node = nodes[name], node.url == url else { return }
            node.lastActiveCheck = now
            node.lastActiveCheckPassed = healthy
            if healthy, node.membership != .dead { node.ejected = false }
            nodes[name] = node
        }
    }

    // MARK: - Routing

    /// Picks a routable node not in `excluding` (power of two choices, fewer in-flight wins),
    /// or `only` that node when given, and counts the request in flight; nil when no node is routable.
    /// `preferring` names a node to use when it is routable and not excluded (a user's reads go
    /// to the node that took their last write for a moment, so they see it before it replicates).
    /// `random(n)` draws in `0..<n` (default: the pool's own generator).
    public func acquire(excluding: Set<String> = [], only: String? = nil, preferring: String? = nil, now: UInt64, random: ((Int) -> Int)? = nil) -> Lease? {
        let random = random ?? draw
        return state.withLock { nodes in
            // Nodes are read in place by index (a copy of a node would copy its windows), and the
            // candidates are indices on the stack, in name order (so a draw picks the same node
            // for the same names).
            if only == nil, let preferring, !excluding.contains(preferring), let index = nodes.index(forKey: preferring),
               nodes.values[index].routable {
                let lease = Lease(name: preferring, url: nodes.values[index].url, startedAt: now)
                nodes.values[index].inFlight += 1
                return lease
            }
            return withUnsafeTemporaryAllocation(of: [String: UpstreamNode].Index.self, capacity: max(1, nodes.count)) { buffer in
                let candidates = buffer.baseAddress!
                var count = 0
                defer { candidates.deinitialize(count: count) }
                var index = nodes.startIndex
                while index != nodes.endIndex {
                    let name = nodes.keys[index]
                    if nodes.values[index].routable, !excluding.contains(name), only == nil || name == only {
                        // Insertion in name order (a handful of nodes), moving later names up
                        // into the uninitialized slot after them.
                        var slot = count
                        while slot > 0, nodes.keys[candidates[slot - 1]] > name {
                            (candidates + slot).moveInitialize(from: candidates + slot - 1, count: 1)
                            slot -= 1
                        }
                        (candidates + slot).initialize(to: index)
                        count += 1
                    }
                    nodes.formIndex(after: &index)
                }
                guard count > 0 else { return nil }
                var chosen = candidates[random(count)]
                if count > 1 {
                    var other = candidates[random(count - 1)]
                    if other == chosen { other = candidates[count - 1] }
                    if Self.rank(nodes.values[other]) < Self.rank(nodes.values[chosen]) { chosen = other }
                }
                let lease = Lease(name: nodes.keys[chosen], url: nodes.values[chosen].url, startedAt: now)
                nodes.values[chosen].inFlight += 1
                return lease
            }
        }
    }

    /// How a node ranks as a choice, lower first: alive before suspect, then fewer in flight.
    private static func rank(_ node: borrowing UpstreamNode) -> (Int, Int) {
        (node.membership == .alive ? 0 : 1, node.inFlight)
    }

    /// A pseudo-random number in `0..<bound` (SplitMix64, Steele, Lea and Flood, 2014).
    private func draw(_ bound: Int) -> Int {
        var z = draws.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(bound))
    }

    /// Ends a lease: records latency and errors; a connection failure ejects the node at once.
    public func release(_ lease: Lease, outcome: Outcome, now: UInt64) {
        // In place, by index: a copy of the node would copy its latency ring on write, and the
        // dictionary's keyed modify moves the node out and back.
        state.withLock { nodes in
            guard let index = nodes.index(forKey: lease.name) else { return }
            nodes.values[index].finished(lease, outcome: outcome, now: now)
        }
    }

    // MARK: - Reading

    /// Every known node, sorted by name.
    public var nodes: [UpstreamNode] {
        state.withLock { nodes in nodes.values.sorted { $0.name < $1.name } }
    }

    /// A node's row on the dashboard: what the gateway really knows of its health.
    public struct Snapshot: Sendable, Encodable {
        public let name: String
        public let url: String
        /// alive, suspect or dead: membership's view, with an ejected node shown as suspect
        /// until membership calls it dead.
        public let state: String
        public let membership: String
        /// Seconds since membership last changed its state (or the gateway learned the node).
        public let membershipSecondsAgo: Double?
        public let ejected: Bool
        /// Seconds since the last active health check, and whether it passed; nil when none was
        /// made (they are made only to re-admit an ejected node).
        public let lastActiveCheckSecondsAgo: Double?
        public let lastActiveCheckPassed: Bool?
        /// Requests that could not connect or were cut off (each ejects the node), and seconds
        /// since the last one.
        public let passiveFailures: Int
        public let lastPassiveFailureSecondsAgo: Double?
        public let inFlight: Int
        public let requests: Int
        public let requestsPerSecond: Double
        public let p50Millis: Double?
        public let p99Millis: Double?
        public let errors: Int
    }

    /// Seconds from `start` to `now` (monotonic nanoseconds), 0 when `start` is later.
    static func seconds(from start: UInt64, to now: UInt64) -> Double {
        now >= start ? Double(now - start) / 1e9 : 0
    }

    public func snapshot(now: UInt64) -> [Snapshot] {
        nodes.map { node in
            let state = node.membership == .dead ? "dead" : (node.ejected || node.membership == .suspect ? "suspect" : "alive")
            return Snapshot(
                name: node.name, url: node.url, state: state, membership: node.membership.rawValue,
                membershipSecondsAgo: node.membershipSince.map { Self.seconds(from: $0, to: now) }, ejected: node.ejected,
                lastActiveCheckSecondsAgo: node.lastActiveCheck.map { Self.seconds(from: $0, to: now) },
                lastActiveCheckPassed: node.lastActiveCheckPassed,
                passiveFailures: node.errors,
                lastPassiveFailureSecondsAgo: node.lastPassiveFailure.map { Self.seconds(from: $0, to: now) },
                inFlight: node.inFlight, requests: node.requests, requestsPerSecond: node.recent.perSecond(now: now),
                p50Millis: node.latencies.percentile(0.5), p99Millis: node.latencies.percentile(0.99), errors: node.errors
            )
        }
    }
}
