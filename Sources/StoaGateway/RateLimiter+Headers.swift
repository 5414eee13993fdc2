/// Response headers of draft-ietf-httpapi-ratelimit-headers (-10/-11): both fields are Structured
/// Field Lists (RFC 9651) with one Item per applicable policy, the policy name as an sf-string.
///
/// - `RateLimit-Policy: "ip-reads";q=100;w=1, "user-reads";q=50;w=5` — `q` is the quota (the GCRA
///   burst, requests available at once from idle) and `w` the window in seconds in which the
///   quota is restored from empty, ⌈burst / rate⌉ (at least 1). It depends only on the request
///   class (read, write or authentication, with or without a user), so it is precomputed.
/// - `RateLimit: "ip-reads";r=42;t=1, "user-reads";r=0;t=5` — `r` is the remaining quota (requests
///   that would be admitted now, after this one) and `t` the seconds until the full quota is
///   back (rounded up; 0 when it is full).
/// - `Retry-After: 3` on rejections: whole seconds (rounded up, ≥ 1) until every rejecting policy
///   admits again (RFC 9110 §10.2.3).
extension RateLimiter {
    public static let policyHeaderName = "RateLimit-Policy"
    public static let rateLimitHeaderName = "RateLimit"
    public static let retryAfterHeaderName = "Retry-After"

    static func policyHeader(_ policies: [RateLimitPolicy], _ indices: [Int]) -> String? {
        guard !indices.isEmpty else { return nil }
        return indices.map { index in
            let policy = policies[index]
            let window = max(1, Int((Double(policy.burst) / policy.rate).rounded(.up)))
            return "\"\(policy.name)\";q=\(policy.burst);w=\(window)"
        }.joined(separator: ", ")
    }

    func decision(
        _ indices: [Int], admitted: Bool, rejecting: Int?, longestWait: UInt64, now: UInt64, classIndex: Int
    ) -> RateLimitDecision {
        guard let policyHeader = policyHeaders[classIndex] else {
            return RateLimitDecision(admitted: true, limitingPolicy: nil, retryAfterSeconds: nil, headers: [])
        }
        var value = ""
        value.reserveCapacity(indices.count * 32)
        var tightest = -1
        var fewestRemaining = Int.max
        for (position, policy) in indices.enumerated() {
            let algorithm = algorithms[policy]
            let tat = scratchTAT[position]
            let remaining = algorithm.remaining(tat: tat, now: now)
            let reset = Self.wholeSeconds(algorithm.nanosUntilIdle(tat: tat, now: now))
            if remaining < fewestRemaining {
                fewestRemaining = remaining
                tightest = policy
            }
            if position > 0 { value += ", " }
            value += "\""
            value += policies[policy].name
            value += "\";r="
            value += String(remaining)
            value += ";t="
            value += String(reset)
        }
        var headers: [(name: String, value: String)] = [
            (Self.policyHeaderName, policyHeader), (Self.rateLimitHeaderName, value),
        ]
        if admitted {
            return RateLimitDecision(
                admitted: true, limitingPolicy: policies[tightest].name, retryAfterSeconds: nil, headers: headers
            )
        }
        let retryAfter = max(1, Self.wholeSeconds(longestWait))
        headers.append((Self.retryAfterHeaderName, String(retryAfter)))
        return RateLimitDecision(
            admitted: false, limitingPolicy: rejecting.map { policies[$0].name }, retryAfterSeconds: retryAfter,
            headers: headers
        )
    }

    /// Nanoseconds as whole seconds, rounded up.
    @inline(__always)
    static func wholeSeconds(_ nanos: UInt64) -> Int {
        Int(nanos / 1_000_000_000 + (nanos % 1_000_000_000 == 0 ? 0 : 1))
    }
}
