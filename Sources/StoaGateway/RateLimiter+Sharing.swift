import StoaGossip

/// One set of limits for several gateways (issue 17). Each gateway decides alone, at once, on its
/// own limiter; every few tens of milliseconds it reports what it admitted since its last report
/// (``takeReport()``) to the other gateways, which charge it to their state for the same policy
/// and key (``absorb(_:now:)``): a GCRA state charged with every gateway's admissions is the state
/// one gateway taking all of them would have. Between two reports a gateway does not know what the
/// others admitted, so the cluster may admit a little more than one gateway would: at most about
/// what the others admit in one report interval plus the transit time.
///
/// When another gateway that membership still believes alive has not been heard from (partitioned
/// from this one), the shell calls ``reserveShares(_:)`` with how many: each admission here is then
/// charged `1 + silent` intervals, so this gateway admits at most `1/(1 + silent)` of the rate (and
/// of the burst) and the silent ones, doing the same on their side, keep the total near the policy.
/// Once membership declares them dead the reservation ends and this gateway has the whole rate.
extension RateLimiter {
    /// Starts (or stops) counting admissions for ``takeReport()``; off, nothing is kept.
    public mutating func shareAdmissions(_ on: Bool) {
        guard on != recordsAdmissions else { return }
        recordsAdmissions = on
        if !on { unreported.removeAll() }
    }

    /// The admissions since the last report, per policy and key (sorted by policy, then key), and
    /// forgets them.
    public mutating func takeReport() -> [LimitReportEntry] {
        guard !unreported.isEmpty else { return [] }
        defer { unreported.removeAll(keepingCapacity: true) }
        return unreported
            .map { LimitReportEntry(policy: policies[$0.key.policy].name, key: $0.key.key, count: $0.value) }
            .sorted { ($0.policy, $0.key) < ($1.policy, $1.key) }
    }

    /// Charges another gateway's reported admissions as if they had been admitted here at `now`
    /// (not counted as this gateway's admissions). Entries of a policy this gateway does not have
    /// are ignored; a count is taken up to 10⁹.
    public mutating func absorb(_ entries: [LimitReportEntry], now: UInt64) {
        for entry in entries where entry.count > 0 {
            guard let policy = policyIndex[entry.policy] else { continue }
            let count = min(entry.count, 1_000_000_000)
            let key = Key(policy: policy, key: entry.key)
            absorbedByPolicy[policy] += count
            if let slot = table.slot(of: key) {
                table[slot].tat = algorithms[policy].charged(tat: table[slot].tat, now: now, count: count)
                table[slot].lastSeen = now
                table.touch(slot)
            } else {
                insert(key, Entry(tat: algorithms[policy].charged(tat: 0, now: now, count: count), lastSeen: now), now: now)
            }
        }
    }

    /// Reserves a share of every policy for `silent` other gateways believed alive and not heard
    /// from: each admission is charged `1 + silent` intervals (0: no reservation).
    public mutating func reserveShares(_ silent: Int) {
        reservedShares = UInt64(max(0, silent))
    }

    /// Requests other gateways reported under each policy (by name), since start.
    public var absorbed: [String: UInt64] {
        Dictionary(uniqueKeysWithValues: policies.indices.map { (policies[$0].name, absorbedByPolicy[$0]) })
    }
}
