/// Timing and fan-out of the SWIM failure detector.
///
/// The defaults suit a LAN and make a killed node be declared dead everywhere within about
/// 5 seconds: it is probed within one round (≤ N × 0.5 s), suspected at the end of that probe
/// period, and declared dead after 1–3 s of suspicion depending on confirmations.
public struct SWIMConfiguration: Sendable {
    /// Length of one protocol period (SWIM §3.1), scaled by `localHealth + 1` (Lifeguard §IV-A).
    public var probeIntervalMillis: UInt64 = 500
    /// How long to wait for a direct ack before asking others to probe indirectly, scaled by
    /// `localHealth + 1` (Lifeguard §IV-A). MUST be less than ``probeIntervalMillis``.
    public var probeTimeoutMillis: UInt64 = 200
    /// How many other members are asked to probe a target that did not answer (SWIM §3.1, k).
    public var indirectProbeCount: Int = 2
    /// Suspicion timeout once enough independent confirmations arrived (Lifeguard §IV-B).
    public var suspicionMinMillis: UInt64 = 1000
    /// Suspicion timeout without any confirmation (Lifeguard §IV-B).
    public var suspicionMaxMillis: UInt64 = 3000
    /// Upper bound of the local health multiplier (Lifeguard §IV-A, S).
    public var maxLocalHealth: Int = 8
    /// Membership claims piggybacked on each message (SWIM §4.1).
    public var gossipFanoutPerMessage: Int = 8
    /// Keep dead members listed this long, then forget them unless their address is a seed.
    public var deadMemberRetentionMillis: UInt64 = 60_000
    /// How often unjoined seeds are pinged, and one dead member is pinged to heal partitions.
    public var joinRetryIntervalMillis: UInt64 = 1000
    /// Each claim is piggybacked about `retransmitMultiplier × ⌈log2(N + 1)⌉` times (SWIM §4.1).
    public var retransmitMultiplier: Int = 3
    /// Cap of K, the independent suspicion confirmations expected before the suspicion
    /// timeout reaches its minimum: K = min(this, aliveCount − 2) (Lifeguard §IV-B).
    public var maxSuspicionConfirmations: Int = 3

    public init() {}
}
