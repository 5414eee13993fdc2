import Metrics

/// What the gateway's HTTP server refused or cut off, per listener (`api`, `admin`), for
/// `/metrics`; never logged one line each.
final class GatewayServerCounters: Sendable {
    /// Why the server closed a connection itself.
    enum CloseReason: String, CaseIterable {
        /// The client sent nothing for the idle timeout while nothing of it was being answered.
        case idle
        /// A request's head was not complete within the head timeout of its first byte.
        case headTimeout = "head_timeout"
        /// The request could not be parsed (answered 400 first when possible).
        case malformed
    }

    /// `stoa_gateway_client_connections`: client connections open now.
    let open: Gauge
    /// `stoa_gateway_connections_refused_total`: connections accepted and closed at once because
    /// the listener had `maxConnections` open.
    let refused: Counter
    /// `stoa_gateway_connections_closed_total{reason}`.
    private let closed: [CloseReason: Counter]
    /// `stoa_gateway_bodies_refused_total{route="any"|"realtime"}`: 413s for a body over its limit.
    let bodyRefused: Counter
    let realtimeBodyRefused: Counter
    /// `stoa_gateway_accept_errors_total`: failed accepts (out of file descriptors, typically),
    /// after each of which the listener waits a second before accepting again.
    let acceptErrors: Counter

    init(listener: String) {
        open = Gauge(label: "stoa_gateway_client_connections", dimensions: [("listener", listener)])
        refused = Counter(label: "stoa_gateway_connections_refused_total", dimensions: [("listener", listener)])
        closed = Dictionary(uniqueKeysWithValues: CloseReason.allCases.map {
            ($0, Counter(label: "stoa_gateway_connections_closed_total", dimensions: [("listener", listener), ("reason", $0.rawValue)]))
        })
        bodyRefused = Counter(label: "stoa_gateway_bodies_refused_total", dimensions: [("listener", listener), ("route", "any")])
        realtimeBodyRefused = Counter(label: "stoa_gateway_bodies_refused_total", dimensions: [("listener", listener), ("route", "realtime")])
        acceptErrors = Counter(label: "stoa_gateway_accept_errors_total", dimensions: [("listener", listener)])
    }

    func closed(_ reason: CloseReason) { closed[reason]?.increment() }
}
