/// Which requests a rate-limit policy applies to.
public enum RateLimitTraffic: String, Sendable, Codable, CaseIterable {
    /// Requests that are not writes (the shell decides: GET/HEAD/OPTIONS).
    case reads
    /// Requests that change state (POST, PATCH, PUT, DELETE).
    case writes
    /// Every request.
    case all

    /// Whether a request of this kind is counted by the policy.
    @inline(__always)
    public func applies(isWrite: Bool) -> Bool {
        switch self {
        case .all: true
        case .reads: !isWrite
        case .writes: isWrite
        }
    }
}
