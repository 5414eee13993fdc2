import Metrics
import NIOCore

/// The bounds a node's HTTP server keeps per connection and in total, so a hostile or broken
/// client is cut off, never the node. Each is documented in the README (node options, "Limits")
/// and exported as a gauge on `/metrics` (``exportGauges()``); what each one refuses is counted
/// (``NodeHTTPCounters``). Request bodies are bounded apart (`--max-body`).
public struct NodeHTTPLimits: Sendable, Equatable {
    /// A connection that brings nothing for this long while none of its requests is being
    /// answered is closed (a realtime stream or a slow answer keeps it open). Default 60 s.
    public var idleTimeout: TimeAmount
    /// From the first byte of a request, its head (request line and headers) must be complete
    /// within this, else the connection closes unanswered (slowloris). Default 10 s.
    public var headTimeout: TimeAmount
    /// Client connections open at once; one more is accepted and closed at once. Default 10,000.
    public var maxConnections: Int

    public static let defaultIdleTimeoutSeconds: Int64 = 60
    public static let defaultHeadTimeoutSeconds: Int64 = 10
    public static let defaultMaxConnections = 10_000

    public init(
        idleTimeout: TimeAmount = .seconds(defaultIdleTimeoutSeconds), headTimeout: TimeAmount = .seconds(defaultHeadTimeoutSeconds),
        maxConnections: Int = defaultMaxConnections
    ) {
        self.idleTimeout = idleTimeout
        self.headTimeout = headTimeout
        self.maxConnections = maxConnections
    }

    /// Records the bounds as gauges: `stoa_http_max_connections`, `stoa_http_idle_timeout_seconds`,
    /// `stoa_http_head_timeout_seconds`.
    func exportGauges() {
        Gauge(label: "stoa_http_max_connections").record(maxConnections)
        Gauge(label: "stoa_http_idle_timeout_seconds").record(Double(idleTimeout.nanoseconds) / 1e9)
        Gauge(label: "stoa_http_head_timeout_seconds").record(Double(headTimeout.nanoseconds) / 1e9)
    }
}
