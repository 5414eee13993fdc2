import StoaCore

/// The gateway's rate limiter: several GCRA policies evaluated together over a bounded key table.
/// A pure state machine: no I/O, no clock; `now` is monotonic nanoseconds from the caller.
///
/// Contract:
/// - A request is admitted iff every applicable policy admits it, and only then is every
///   applicable policy charged: a rejection by one policy charges none of them. Rejected
///   requests are answered at once (no queueing).
/// - A policy applies when its `traffic` matches the request (`reads`, `writes`, `auth`, `all`;
///   an authentication request counts as a write too) and, for `user` scope, the request
///   has a verified user; `ip` policies use `clientKey`; `global` policies one shared key.
/// - The key table never holds more than `maxKeys` entries (one per policy and key). Entries back
///   at idle (a full burst available again) or unseen for `idleTTLNanos` are dropped, a few per
///   call and by `expire(now:)`; forgetting an idle entry changes no decision. When the table is
///   full the least recently used entry is evicted (counted in `statistics.evictedKeys`).
public struct RateLimiter: Sendable {
    /// How many most-rejected keys `statistics` reports per policy.
    public static let topKeysReported = 10

    public let policies: [RateLimitPolicy]
    public let maxKeys: Int
    public let idleTTLNanos: UInt64

    struct Key: Hashable, Sendable {
        var policy: Int
        var key: String
    }

    struct Entry: Sendable {
        var tat: UInt128
        var lastSeen: UInt64
    }

    let algorithms: [GCRA]
    /// Applicable policy indices per request class (`classIndex`).
    let applicable: [[Int]]
    /// `RateLimit-Policy` value per request class; nil when no policy applies.
    let policyHeaders: [String?]
    var table: LRUTable<Key, Entry>
    var admittedByPolicy: [UInt64]
    var rejectedByPolicy: [UInt64]
    var topKeys: [RateLimitTopKeys]
    var admittedTotal: UInt64 = 0
    var rejectedTotal: UInt64 = 0
    var expiredKeys: UInt64 = 0
    var evictedKeys: UInt64 = 0
    /// TAT of each applicable policy after the decision (reused between calls).
    var scratchTAT: [UInt128] = []
    /// Table slot of each applicable policy's key, -1 when absent (reused between calls).
    private var scratchSlots: [Int] = []
    /// Shared limits (``RateLimiter+Sharing``): admissions not yet reported to the other
    /// gateways, per policy and key, while `recordsAdmissions`.
    var unreported: [Key: UInt64] = [:]
    var recordsAdmissions = false
    /// Intervals charged per admission beyond its own: one for each other gateway believed alive
    /// but not heard from (``RateLimiter/reserveShares(_:)``).
    var reservedShares: UInt64 = 0
    /// Requests other gateways reported admitting, per policy.
    var absorbedByPolicy: [UInt64]
    let policyIndex: [String: Int]

    /// - Precondition: `validate(policies, maxKeys:)` passes and `idleTTLNanos` > 0.
    public init(policies: [RateLimitPolicy], maxKeys: Int = 100_000, idleTTLNanos: UInt64 = 600_000_000_000) {
        do { try Self.validate(policies, maxKeys: maxKeys) } catch { preconditionFailure("\(error)") }
        precondition(idleTTLNanos > 0, "idleTTLNanos must be positive")
        self.policies = policies
        self.maxKeys = maxKeys
        self.idleTTLNanos = idleTTLNanos
        algorithms = policies.map { GCRA(rate: $0.rate, burst: $0.burst) }
        var applicable: [[Int]] = []
        var policyHeaders: [String?] = []
        for classIndex in 0..<8 {
            let isAuth = classIndex & 4 != 0
            let isWrite = classIndex & 2 != 0
            let hasUser = classIndex & 1 != 0
            let indices = policies.indices.filter {
                policies[$0].traffic.applies(isWrite: isWrite, isAuth: isAuth) && (hasUser || policies[$0].scope != .user)
            }
            applicable.append(indices)
            policyHeaders.append(Self.policyHeader(policies, indices))
        }
        self.applicable = applicable
        self.policyHeaders = policyHeaders
        table = LRUTable(minimumCapacity: min(maxKeys, 4096))
        admittedByPolicy = Array(repeating: 0, count: policies.count)
        absorbedByPolicy = Array(repeating: 0, count: policies.count)
        policyIndex = Dictionary(uniqueKeysWithValues: policies.enumerated().map { ($1.name, $0) })
        rejectedByPolicy = Array(repeating: 0, count: policies.count)
        topKeys = Array(repeating: RateLimitTopKeys(capacity: 4 * Self.topKeysReported), count: policies.count)
        scratchTAT.reserveCapacity(policies.count)
        scratchSlots.reserveCapacity(policies.count)
    }

    /// Checks what `init` requires, for a readable configuration error instead of a crash:
    /// every policy valid (`RateLimitPolicy.validate()`), names unique, `maxKeys` ≥ policies.
    /// - Throws: `RateLimitPolicyError` saying what is wrong.
    public static func validate(_ policies: [RateLimitPolicy], maxKeys: Int) throws {
        for policy in policies { try policy.validate() }
        var seen = Set<String>()
        for policy in policies where !seen.insert(policy.name).inserted {
            throw RateLimitPolicyError("rate limit policy name \(policy.name) is used twice; names must be unique")
        }
        guard maxKeys >= max(1, policies.count) else {
            throw RateLimitPolicyError("the rate limiter key table (\(maxKeys)) must hold at least one key per policy (\(policies.count))")
        }
    }

    @inline(__always)
    static func classIndex(_ request: RateLimitRequest) -> Int {
        (request.isAuth ? 4 : 0) | (request.isWrite ? 2 : 0) | (request.user != nil ? 1 : 0)
    }

    @inline(__always)
    func limiterKey(_ policy: Int, _ request: RateLimitRequest) -> Key {
        switch policies[policy].scope {
        case .user: Key(policy: policy, key: request.user ?? "")
        case .ip: Key(policy: policy, key: request.clientKey)
        case .global: Key(policy: policy, key: "*")
        }
    }

    /// Evaluates every applicable policy together; admits only if all admit (and only then
    /// charges them). See the type's contract.
    public mutating func decide(_ request: RateLimitRequest, now: UInt64) -> RateLimitDecision {
        expireLeastRecent(now: now, atMost: 2)
        let indices = applicable[Self.classIndex(request)]
        scratchTAT.removeAll(keepingCapacity: true)
        scratchSlots.removeAll(keepingCapacity: true)
        var admitted = true
        var longestWait: UInt64 = 0
        var rejecting: Int?
        for policy in indices {
            let key = limiterKey(policy, request)
            var tat: UInt128 = 0
            let slot = table.slot(of: key)
            if let slot {
                tat = table[slot].tat
                table[slot].lastSeen = now
                table.touch(slot)
            }
            scratchTAT.append(tat)
            scratchSlots.append(slot ?? -1)
            let algorithm = algorithms[policy]
            if !algorithm.conforms(tat: tat, now: now) {
                admitted = false
                rejectedByPolicy[policy] += 1
                topKeys[policy].record(key.key)
                let wait = algorithm.nanosUntilConforming(tat: tat, now: now)
                if rejecting == nil || wait > longestWait {
                    longestWait = wait
                    rejecting = policy
                }
            }
        }
        if admitted {
            admittedTotal += 1
            // Slots found above stay valid: they were just touched, so while the table holds at
            // least `policies.count` entries an eviction below never picks one of them.
            for (position, policy) in indices.enumerated() {
                let tat = reservedShares == 0
                    ? algorithms[policy].charged(tat: scratchTAT[position], now: now)
                    : algorithms[policy].charged(tat: scratchTAT[position], now: now, count: 1 + reservedShares)
                scratchTAT[position] = tat
                admittedByPolicy[policy] += 1
                if recordsAdmissions { unreported[limiterKey(policy, request), default: 0] += 1 }
                let slot = scratchSlots[position]
                if slot >= 0 {
                    table[slot].tat = tat
                } else {
                    insert(limiterKey(policy, request), Entry(tat: tat, lastSeen: now), now: now)
                }
            }
        } else {
            rejectedTotal += 1
        }
        return decision(indices, admitted: admitted, rejecting: rejecting, longestWait: longestWait, now: now, classIndex: Self.classIndex(request))
    }

    /// Drops entries from the least recently used end that are idle or unseen for the idle TTL,
    /// stopping at the first one that is neither. The shell MAY call it periodically; `decide`
    /// already drops up to two per call.
    public mutating func expire(now: UInt64) {
        expireLeastRecent(now: now, atMost: Int.max)
    }

    private mutating func expireLeastRecent(now: UInt64, atMost limit: Int) {
        var dropped = 0
        while dropped < limit, let slot = table.leastRecent, isForgettable(slot, now: now) {
            table.remove(slot)
            expiredKeys += 1
            dropped += 1
        }
    }

    private func isForgettable(_ slot: Int, now: UInt64) -> Bool {
        let entry = table[slot]
        if now >= entry.lastSeen, now - entry.lastSeen >= idleTTLNanos { return true }
        return algorithms[table.key(at: slot).policy].isIdle(tat: entry.tat, now: now)
    }

    /// Inserts an entry for a key that has none, evicting the least recently used one when full.
    mutating func insert(_ key: Key, _ entry: Entry, now: UInt64) {
        if table.count >= maxKeys, let victim = table.leastRecent {
            if isForgettable(victim, now: now) { expiredKeys += 1 } else { evictedKeys += 1 }
            table.remove(victim)
        }
        table.insert(key, entry)
    }

    /// Counters and the most limited keys; O(policies · 40 · log 40), allocates.
    public var statistics: RateLimitStatistics {
        RateLimitStatistics(
            policies: policies.indices.map { index in
                let policy = policies[index]
                return RateLimitStatistics.Policy(
                    name: policy.name, scope: policy.scope, traffic: policy.traffic, rate: policy.rate, burst: policy.burst,
                    admitted: admittedByPolicy[index], rejected: rejectedByPolicy[index],
                    topLimitedKeys: topKeys[index].top(Self.topKeysReported)
                )
            },
            admitted: admittedTotal, rejected: rejectedTotal,
            keys: table.count, maxKeys: maxKeys,
            expiredKeys: expiredKeys, evictedKeys: evictedKeys
        )
    }
}
