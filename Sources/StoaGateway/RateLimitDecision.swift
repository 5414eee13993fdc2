/// The limiter's answer for one request: admit or reject (429) at once, never queue.
public struct RateLimitDecision: Sendable {
    /// True when every applicable policy admitted the request (and then each was charged).
    public var admitted: Bool
    /// When rejected: the rejecting policy with the longest wait. When admitted: the applicable
    /// policy with the fewest requests remaining. Nil when no policy applies.
    public var limitingPolicy: String?
    /// Only when rejected: whole seconds until every rejecting policy admits again (rounded up, ≥ 1).
    public var retryAfterSeconds: Int?
    /// Response headers to set: `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers
    /// structured lists, one item per applicable policy; absent only when no policy applies), and
    /// `Retry-After` when rejected.
    public var headers: [(name: String, value: String)]

    public init(admitted: Bool, limitingPolicy: String?, retryAfterSeconds: Int?, headers: [(name: String, value: String)]) {
        self.admitted = admitted
        self.limitingPolicy = limitingPolicy
        self.retryAfterSeconds = retryAfterSeconds
        self.headers = headers
    }
}
