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
        /// The request could not be sent as it is (the client's fault): the node is not judged.
        case notSent
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
            if only == nil, let preferring, !excluding.contains(preferring), let node = nodes[preferring], node.routable {
                nodes[preferring]!.inFlight += 1
                return Lease(name: preferring, url: node.url, startedAt: now)
            }
            // Names only: a copy of a node would copy its windows.
            var candidates: [String] = []
            candidates.reserveCapacity(nodes.count)
            for (name, node) in nodes where node.routable && !excluding.contains(name) && (only == nil || name == only) {
                candidates.append(name)
            }
            guard !candidates.isEmpty else { return nil }
            candidates.sort()
            var chosen = candidates[random(candidates.count)]
            if candidates.count > 1 {
                var other = candidates[random(candidates.count - 1)]
                if other == chosen { other = candidates[candidates.count - 1] }
                if Self.rank(nodes[other]) < Self.rank(nodes[chosen]) { chosen = other }
            }
            nodes[chosen]!.inFlight += 1
            return Lease(name: chosen, url: nodes[chosen]!.url, startedAt: now)
        }
    }

    /// How a node ranks as a choice, lower first: alive before suspect, then fewer in flight.
    private static func rank(_ node: UpstreamNode?) -> (Int, Int) {
        node.map { ($0.membership == .alive ? 0 : 1, $0.inFlight) } ?? (2, 0)
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
        // In place: a copy of the node would copy its latency ring on write.
        state.withLock { nodes in nodes[lease.name]?.finished(lease, outcome: outcome, now: now) }
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
