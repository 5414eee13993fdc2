import Metrics
import NIOCore

/// The bounds the gateway's HTTP server keeps per client and in total, so a hostile or broken
/// client costs a bounded share and is cut off, never the gateway. Each is documented in the
/// README ("The gateway") and exported as a gauge on `/metrics` (``exportGauges(listener:)``);
/// what each one refuses is counted (``GatewayServerCounters``).
public struct GatewayServerLimits: Sendable {
    /// Largest request body; a longer one (declared, or read) is a 413 in PocketBase's envelope
    /// and the connection closes. Default 32 MiB.
    public var maxBodyBytes: Int
    /// Largest body of `POST /api/realtime` (a subscription request, which the gateway parses to
    /// find the node holding the stream); checked the same way. Default 64 KiB.
    public var maxRealtimeBodyBytes: Int
    /// A connection whose client sent nothing for this long is closed, unless one of its
    /// requests is being answered (waiting for a node, or a realtime stream being written).
    /// Default 60 s.
    public var idleTimeout: TimeAmount
    /// From the first byte of a request, its head (request line and headers) must be complete
    /// within this, else the connection closes (slowloris). Default 10 s.
    public var headTimeout: TimeAmount
    /// Client connections open at once; one more is accepted and closed at once (counted).
    /// Default 10,000.
    public var maxConnections: Int

    public static let defaultMaxBodyBytes = 32 << 20
    public static let defaultMaxRealtimeBodyBytes = 64 << 10
    public static let defaultIdleTimeoutSeconds: Int64 = 60
    public static let defaultHeadTimeoutSeconds: Int64 = 10
    public static let defaultMaxConnections = 10_000

    public init(maxBodyBytes: Int = defaultMaxBodyBytes, maxRealtimeBodyBytes: Int = defaultMaxRealtimeBodyBytes,
                idleTimeout: TimeAmount = .seconds(defaultIdleTimeoutSeconds), headTimeout: TimeAmount = .seconds(defaultHeadTimeoutSeconds),
                maxConnections: Int = defaultMaxConnections) {
        self.maxBodyBytes = maxBodyBytes
        self.maxRealtimeBodyBytes = maxRealtimeBodyBytes
        self.idleTimeout = idleTimeout
        self.headTimeout = headTimeout
        self.maxConnections = maxConnections
    }

    /// Records the bounds as Prometheus gauges (`stoa_gateway_max_connections`,
    /// `stoa_gateway_max_body_bytes`, `stoa_gateway_max_realtime_body_bytes`,
    /// `stoa_gateway_idle_timeout_seconds`, `stoa_gateway_head_timeout_seconds`), labelled with
    /// the listener (`api` or `admin`).
    func exportGauges(listener: String) {
        let dimensions = [("listener", listener)]
        Gauge(label: "stoa_gateway_max_connections", dimensions: dimensions).record(maxConnections)
        Gauge(label: "stoa_gateway_max_body_bytes", dimensions: dimensions).record(maxBodyBytes)
        Gauge(label: "stoa_gateway_max_realtime_body_bytes", dimensions: dimensions).record(maxRealtimeBodyBytes)
        Gauge(label: "stoa_gateway_idle_timeout_seconds", dimensions: dimensions).record(Double(idleTimeout.nanoseconds) / 1e9)
        Gauge(label: "stoa_gateway_head_timeout_seconds", dimensions: dimensions).record(Double(headTimeout.nanoseconds) / 1e9)
    }
}
