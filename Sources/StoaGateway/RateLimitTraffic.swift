/// Which requests a rate-limit policy applies to.
public enum RateLimitTraffic: String, Sendable, Codable, CaseIterable {
    /// Requests that are not writes (the shell decides: GET/HEAD/OPTIONS).
    case reads
    /// Requests that change state (POST, PATCH, PUT, DELETE); authentication requests are POSTs,
    /// so they count here too.
    case writes
    /// Authentication and account requests only (``RequestRoute/isAuth``: sign-in, token
    /// refresh, password reset, verification, email change), which cost a password hash or
    /// mail and invite guessing, so they get a stricter limit of their own.
    case auth
    /// Every request.
    case all

    /// Whether a request of this kind is counted by the policy. An `auth` request is a write.
    @inline(__always)
    public func applies(isWrite: Bool, isAuth: Bool = false) -> Bool {
        switch self {
        case .all: true
        case .reads: !isWrite && !isAuth
        case .writes: isWrite || isAuth
        case .auth: isAuth
        }
    }
}
