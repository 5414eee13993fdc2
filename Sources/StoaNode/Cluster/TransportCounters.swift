import Metrics
import Synchronization

/// What the gossip transport refused or cut off, counted where it happens (on event loops and in
/// connection tasks, never through the ``ClusterNode`` actor, so junk never queues behind or
/// delays membership work), for `/metrics` and `/api/cluster`.
///
/// `stoa_cluster_messages_rejected_total{reason}` counts each ``Reason``;
/// `stoa_cluster_stream_connections_closed_total{reason="idle"}` the idle closes;
/// `stoa_cluster_stream_connections{state}` and `stoa_cluster_stream_incomplete_frame_bytes`
/// are the gauges of what is open and held now.
final class TransportCounters: Sendable {
    /// Why a message, datagram or stream connection was refused.
    enum Reason: String, CaseIterable, Sendable, Error {
        /// A frame or datagram that did not open with any key of the keyring for this node (another
        /// key, another destination, altered bytes, another format): dropped, a stream connection is closed.
        case authentication
        /// A datagram or frame that authenticated but whose counter its sender session already
        /// used (or that is below the session's replay window): a captured message sent again.
        /// Dropped (a stream connection is closed).
        case replay
        /// An authenticated message that does not decode (or came on the wrong channel).
        case malformed
        /// A frame longer than the largest frame (the connection is closed).
        case oversized
        /// A frame of an unauthenticated connection longer than its 64 KiB limit (closed).
        case oversizedUnauthenticated = "oversized_unauthenticated"
        /// A datagram longer than the largest datagram (dropped).
        case oversizedDatagram = "oversized_datagram"
        /// A connection over the limit of open stream connections (closed at once).
        case connectionLimit = "connection_limit"
        /// An unauthenticated connection closed for a newer one from the same address.
        case addressLimit = "address_limit"
        /// An unauthenticated connection closed for a newer one (limit in all).
        case unauthenticatedLimit = "unauthenticated_limit"
        /// No authenticated first frame within the hello timeout (closed).
        case helloTimeout = "hello_timeout"
        /// A frame not complete within the frame timeout (closed).
        case frameTimeout = "frame_timeout"
        /// A read that would have passed the bound on bytes held in incomplete frames (closed).
        case frameBudget = "frame_budget"
    }

    private let counts = Mutex<[Reason: Int]>([:])
    private let counters: [Reason: Counter]
    private let idle = Atomic<Int>(0)
    private let idleCounter = Counter(label: "stoa_cluster_stream_connections_closed_total", dimensions: [("reason", "idle")])
    private let unauthenticatedGauge = Gauge(label: "stoa_cluster_stream_connections", dimensions: [("state", "unauthenticated")])
    private let authenticatedGauge = Gauge(label: "stoa_cluster_stream_connections", dimensions: [("state", "authenticated")])
    let incompleteFrameBytes = Gauge(label: "stoa_cluster_stream_incomplete_frame_bytes")
    /// `stoa_cluster_accept_errors_total`: failed accepts on the gossip port (out of file
    /// descriptors, typically), after each of which it waits a second before accepting again.
    let acceptErrors = Counter(label: "stoa_cluster_accept_errors_total")

    init() {
        var counters: [Reason: Counter] = [:]
        for reason in Reason.allCases {
            counters[reason] = Counter(label: "stoa_cluster_messages_rejected_total", dimensions: [("reason", reason.rawValue)])
        }
        self.counters = counters
    }

    func reject(_ reason: Reason) {
        counts.withLock { $0[reason, default: 0] += 1 }
        counters[reason]?.increment()
    }

    func closedIdle() {
        idle.add(1, ordering: .relaxed)
        idleCounter.increment()
    }

    /// Rejections of `reason` since start.
    func count(_ reason: Reason) -> Int { counts.withLock { $0[reason] ?? 0 } }

    /// Every reason's count since start, by label.
    var all: [String: Int] {
        Dictionary(uniqueKeysWithValues: Reason.allCases.map { ($0.rawValue, count($0)) } + [("idle_closed", idle.load(ordering: .relaxed))])
    }

    func recordConnections(unauthenticated: Int, authenticated: Int) {
        unauthenticatedGauge.record(unauthenticated)
        authenticatedGauge.record(authenticated)
    }
}
