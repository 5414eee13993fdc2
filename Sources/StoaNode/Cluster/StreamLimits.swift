import Metrics
import NIOCore

/// The bounds a node keeps on inbound gossip stream connections (TCP on the gossip port), so a
/// client without the cluster key costs a small, fixed share and can never keep a peer's change
/// stream out. Each is documented in the README ("Limits") and exported as a gauge
/// (``exportGauges()``); what each one refuses is counted in
/// `stoa_cluster_messages_rejected_total{reason}` (``TransportCounters``).
///
/// A connection is *unauthenticated* until its first frame, sealed with the cluster key,
/// arrives (a sender opens every connection with a tiny ``StoaGossip/WireMessage/hello(from:)``);
/// until then its frames may be at most ``maxUnauthenticatedFrameBytes`` and it must
/// authenticate within ``helloTimeout``. An attacker without the key can therefore hold at most
/// ``maxUnauthenticatedPerAddress`` connections per address (``maxUnauthenticated`` in all),
/// each for at most ``helloTimeout`` and 64 KiB.
public struct StreamLimits: Sendable, Equatable {
    /// Stream connections open at once; one more is closed at once. Default 256.
    public var maxConnections: Int
    /// Unauthenticated connections at once from one remote address (an IPv6 address's /64); a
    /// new one closes the oldest (so a peer's new connection always gets in, and authenticates
    /// within milliseconds). Default 4.
    public var maxUnauthenticatedPerAddress: Int
    /// Unauthenticated connections at once in all; a new one closes the oldest. Default 64.
    public var maxUnauthenticated: Int
    /// Largest frame of an unauthenticated connection (the first, authenticating one).
    /// Default 64 KiB.
    public var maxUnauthenticatedFrameBytes: Int
    /// A connection's first frame must authenticate within this of its accept. Default 5 s.
    public var helloTimeout: TimeAmount
    /// A frame must be complete within this of its first byte; time the node itself is not
    /// reading the connection (busy merging earlier frames) does not count. Default 30 s.
    public var frameTimeout: TimeAmount
    /// An authenticated connection that brings nothing for this long is closed (the sender
    /// reconnects with its next message; its own links close after half of this). Default 120 s.
    public var idleTimeout: TimeAmount
    /// Bytes all connections together may hold in frames not yet complete; a read that would
    /// pass it closes its connection. Default 64 MiB.
    public var maxIncompleteFrameBytes: Int

    public static let defaultMaxConnections = 256
    public static let defaultMaxUnauthenticatedPerAddress = 4
    public static let defaultMaxUnauthenticated = 64
    public static let defaultMaxUnauthenticatedFrameBytes = 64 << 10
    public static let defaultHelloTimeoutMillis: Int64 = 5_000
    public static let defaultFrameTimeoutMillis: Int64 = 30_000
    public static let defaultIdleTimeoutMillis: Int64 = 120_000
    public static let defaultMaxIncompleteFrameBytes = 64 << 20

    public init(
        maxConnections: Int = defaultMaxConnections, maxUnauthenticatedPerAddress: Int = defaultMaxUnauthenticatedPerAddress,
        maxUnauthenticated: Int = defaultMaxUnauthenticated, maxUnauthenticatedFrameBytes: Int = defaultMaxUnauthenticatedFrameBytes,
        helloTimeout: TimeAmount = .milliseconds(defaultHelloTimeoutMillis), frameTimeout: TimeAmount = .milliseconds(defaultFrameTimeoutMillis),
        idleTimeout: TimeAmount = .milliseconds(defaultIdleTimeoutMillis), maxIncompleteFrameBytes: Int = defaultMaxIncompleteFrameBytes
    ) {
        self.maxConnections = maxConnections
        self.maxUnauthenticatedPerAddress = maxUnauthenticatedPerAddress
        self.maxUnauthenticated = maxUnauthenticated
        self.maxUnauthenticatedFrameBytes = maxUnauthenticatedFrameBytes
        self.helloTimeout = helloTimeout
        self.frameTimeout = frameTimeout
        self.idleTimeout = idleTimeout
        self.maxIncompleteFrameBytes = maxIncompleteFrameBytes
    }

    /// Records the bounds as gauges `stoa_cluster_stream_limit{bound=...}` (seconds for the
    /// timeouts, bytes for sizes), next to the largest frame (`max_frame_bytes`).
    func exportGauges(maxFrameBytes: Int) {
        let values: [(String, Double)] = [
            ("max_connections", Double(maxConnections)),
            ("max_unauthenticated_per_address", Double(maxUnauthenticatedPerAddress)),
            ("max_unauthenticated", Double(maxUnauthenticated)),
            ("max_unauthenticated_frame_bytes", Double(maxUnauthenticatedFrameBytes)),
            ("max_frame_bytes", Double(maxFrameBytes)),
            ("hello_timeout_seconds", Double(helloTimeout.nanoseconds) / 1e9),
            ("frame_timeout_seconds", Double(frameTimeout.nanoseconds) / 1e9),
            ("idle_timeout_seconds", Double(idleTimeout.nanoseconds) / 1e9),
            ("max_incomplete_frame_bytes", Double(maxIncompleteFrameBytes)),
        ]
        for (bound, value) in values {
            Gauge(label: "stoa_cluster_stream_limit", dimensions: [("bound", bound)]).record(value)
        }
    }
}
