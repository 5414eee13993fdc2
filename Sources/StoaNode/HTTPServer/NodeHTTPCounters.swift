import Metrics
import Synchronization

/// What a node's HTTP server refused or cut off, for `/metrics`; never logged one line each.
/// Also admits connections up to the limit (``admit()``).
final class NodeHTTPCounters: Sendable {
    /// Why the server closed a connection itself.
    enum CloseReason: String, CaseIterable, Sendable {
        /// The client sent nothing for the idle timeout while none of its requests was being answered.
        case idle
        /// A request's head was not complete within the head timeout of its first byte.
        case headTimeout = "head_timeout"
        /// The request could not be parsed (answered 400 in PocketBase's envelope first).
        case malformed
    }

    let maxConnections: Int
    private let open = Atomic<Int>(0)
    /// `stoa_http_connections`: client connections open now.
    private let openGauge = Gauge(label: "stoa_http_connections")
    /// `stoa_http_connections_refused_total`: connections accepted and closed at once because
    /// `maxConnections` were open.
    private let refused = Counter(label: "stoa_http_connections_refused_total")
    /// `stoa_http_connections_closed_total{reason}`.
    private let closed: [CloseReason: Counter]
    /// `stoa_http_accept_errors_total`: failed accepts (out of file descriptors, typically),
    /// after each of which the listener waits a second before accepting again.
    let acceptErrors = Counter(label: "stoa_http_accept_errors_total")

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
        closed = Dictionary(uniqueKeysWithValues: CloseReason.allCases.map {
            ($0, Counter(label: "stoa_http_connections_closed_total", dimensions: [("reason", $0.rawValue)]))
        })
    }

    /// Counts a new connection in; false (counted as refused) when `maxConnections` are open.
    /// An admitted connection MUST be ``release()``d once when it closes.
    func admit() -> Bool {
        let count = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= maxConnections else {
            open.wrappingSubtract(1, ordering: .relaxed)
            refused.increment()
            return false
        }
        openGauge.record(count)
        return true
    }

    func release() {
        openGauge.record(open.wrappingSubtract(1, ordering: .relaxed).newValue)
    }

    /// Connections admitted and not released.
    var openConnections: Int { open.load(ordering: .relaxed) }

    func closed(_ reason: CloseReason) { closed[reason]?.increment() }
}
