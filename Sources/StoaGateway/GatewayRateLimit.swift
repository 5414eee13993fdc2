import Metrics
import StoaGossip
import Synchronization

/// The shell around the pure ``RateLimiter``: one limiter behind a lock, the client key from
/// ``ClientAddress``, rejections counted per policy (never logged one line each), and
/// per-second rates derived from the limiter's totals for the dashboard.
public final class GatewayRateLimit: Sendable {
    private let limiter: Mutex<RateLimiter>
    public let policies: [RateLimitPolicy]
    public let trustedProxies: [CIDR]
    private let rejected: [String: Metrics.Counter]
    private let admittedCounter = Metrics.Counter(label: "stoa_gateway_ratelimit_admitted_total")
    private let rates = Mutex<RateSample?>(nil)

    public init(policies: [RateLimitPolicy], trustedProxies: [CIDR], maxKeys: Int = 100_000) {
        limiter = Mutex(RateLimiter(policies: policies, maxKeys: maxKeys))
        self.policies = policies
        self.trustedProxies = trustedProxies
        rejected = Dictionary(uniqueKeysWithValues: policies.map { ($0.name, Metrics.Counter(label: "stoa_gateway_ratelimit_rejected_total", dimensions: [("policy", $0.name)])) })
    }

    /// Decides one request (see ``RateLimiter/decide(_:now:)``).
    public func decide(user: String?, peer: String, forwardedFor: String?, isWrite: Bool, isAuth: Bool = false, now: UInt64) -> RateLimitDecision {
        let key = ClientAddress.key(peer: peer, forwardedFor: forwardedFor, trustedProxies: trustedProxies)
        let decision = limiter.withLock { $0.decide(RateLimitRequest(user: user, clientKey: key, isWrite: isWrite, isAuth: isAuth), now: now) }
        if decision.admitted {
            admittedCounter.increment()
        } else if let policy = decision.limitingPolicy {
            rejected[policy]?.increment()
        }
        return decision
    }

    public var statistics: RateLimitStatistics { limiter.withLock { $0.statistics } }

    // MARK: - Shared with the other gateways (``RateLimiter+Sharing``)

    /// Starts counting admissions for ``takeReport()``.
    public func shareAdmissions(_ on: Bool) { limiter.withLock { $0.shareAdmissions(on) } }

    /// The admissions since the last report, forgotten here.
    public func takeReport() -> [LimitReportEntry] { limiter.withLock { $0.takeReport() } }

    /// Charges another gateway's reported admissions.
    public func absorb(_ entries: [LimitReportEntry], now: UInt64) {
        guard !entries.isEmpty else { return }
        limiter.withLock { $0.absorb(entries, now: now) }
    }

    /// Reserves shares for `silent` gateways believed alive and not heard from.
    public func reserveShares(_ silent: Int) {
        silentGateways.record(silent)
        limiter.withLock { $0.reserveShares(silent) }
    }

    /// `stoa_gateway_ratelimit_silent_gateways`: other gateways believed alive and not heard from.
    private let silentGateways = Gauge(label: "stoa_gateway_ratelimit_silent_gateways")

    struct RateSample: Sendable {
        let at: UInt64
        let statistics: RateLimitStatistics
    }

    /// The statistics now, and the previous sample (at least a second old) to derive rates from.
    func sample(now: UInt64) -> (current: RateLimitStatistics, previous: RateLimitStatistics?, seconds: Double) {
        let current = statistics
        return rates.withLock { last in
            defer { if last == nil || now - last!.at >= 1_000_000_000 { last = RateSample(at: now, statistics: current) } }
            guard let previous = last, now > previous.at else { return (current, nil, 0) }
            return (current, previous.statistics, Double(now - previous.at) / 1e9)
        }
    }
}
