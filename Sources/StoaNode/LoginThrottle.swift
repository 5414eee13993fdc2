import Crypto
import Foundation
import Metrics
import StoaCore
import Synchronization

/// Slows down password guessing against one account on this node: each identity (the login
/// email, case-insensitive) may fail ``burst`` logins at once and then one every
/// `60 / perMinute` seconds; a login while that budget is spent is refused with 429 before any
/// password is checked. Successful logins cost nothing. A GCRA per identity (the same
/// algorithm as the gateway's limits), in a table bounded to ``maxIdentities`` entries: when it
/// is full, identities back at a full budget are forgotten first, then the oldest.
///
/// In a cluster the node tells the others of each failure (``share``; the identity's SHA-256,
/// never the email) and counts theirs (``failed(keys:)``), so guesses spread over nodes draw on
/// one budget; while partitioned, each side counts its own.
public final class LoginThrottle: Sendable {
    public let burst: Int
    public let perMinute: Double
    public static let maxIdentities = 100_000
    let algorithm: GCRA
    /// Monotonic nanoseconds now (injected for tests).
    let clock: @Sendable () -> UInt64
    private let table = Mutex<[[UInt8]: UInt128]>([:])
    private let sharing = Mutex<(@Sendable ([UInt8]) -> Void)?>(nil)
    private let refusedCounter = Counter(label: "stoa_auth_refused_total", dimensions: [("reason", "login_failures")])

    public init(burst: Int = 10, perMinute: Double = 10, clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.burst = max(1, burst)
        self.perMinute = perMinute
        self.algorithm = GCRA(rate: max(1e-6, perMinute / 60), burst: max(1, burst))
        self.clock = clock
    }

    /// The key of an identity: the SHA-256 of it lower-cased (what peers are told).
    static func key(_ identity: String) -> [UInt8] { Array(SHA256.hash(data: Data(identity.lowercased().utf8))) }

    /// Makes every local failure be told to `report` (the cluster member shares it with peers).
    public func share(_ report: @escaping @Sendable ([UInt8]) -> Void) {
        sharing.withLock { $0 = report }
    }

    /// Failures other nodes saw (keys as ``key(_:)`` makes them); they are not shared again.
    public func failed(keys: [[UInt8]]) {
        for key in keys where key.count == 32 { charge(key) }
    }

    /// Nil when a login for `identity` may be tried now; otherwise the seconds until it may
    /// (for `Retry-After`), and the refusal is counted.
    public func refusal(for identity: String) -> Int? {
        let now = clock()
        let tat = table.withLock { $0[Self.key(identity)] } ?? 0
        guard !algorithm.conforms(tat: tat, now: now) else { return nil }
        refusedCounter.increment()
        return Int((algorithm.nanosUntilConforming(tat: tat, now: now) + 999_999_999) / 1_000_000_000)
    }

    /// Throws PocketBase's 429 (with `Retry-After`) when a login for `identity` may not be tried
    /// now (``refusal(for:)``).
    func checkAllowed(_ identity: String) throws {
        guard let seconds = refusal(for: identity) else { return }
        var error = PBError(.tooManyRequests, "Too many failed login attempts. Try again later.")
        error.headers[.retryAfter] = String(seconds)
        throw error
    }

    /// Records a failed login for `identity`, and shares it.
    public func failed(_ identity: String) {
        let key = Self.key(identity)
        charge(key)
        sharing.withLock { $0 }?(key)
    }

    private func charge(_ key: [UInt8]) {
        let now = clock()
        table.withLock { table in
            if table[key] == nil, table.count >= Self.maxIdentities {
                table = table.filter { !algorithm.isIdle(tat: $0.value, now: now) }
                if table.count >= Self.maxIdentities, let oldest = table.min(by: { $0.value < $1.value })?.key { table[oldest] = nil }
            }
            table[key] = algorithm.charged(tat: table[key] ?? 0, now: now)
        }
    }
}
