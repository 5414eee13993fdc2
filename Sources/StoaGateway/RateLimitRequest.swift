/// What the limiter needs to know about one request.
public struct RateLimitRequest: Sendable {
    /// The verified token subject; nil for anonymous requests (they skip `user` policies).
    public var user: String?
    /// `ClientAddress.key(...)` of the request.
    public var clientKey: String
    /// Whether the request changes state (counted by `writes` policies, not by `reads` ones).
    public var isWrite: Bool
    /// Whether the request authenticates or acts on an account (counted by `auth` policies, and
    /// as a write).
    public var isAuth: Bool

    public init(user: String?, clientKey: String, isWrite: Bool, isAuth: Bool = false) {
        self.user = user
        self.clientKey = clientKey
        self.isWrite = isWrite || isAuth
        self.isAuth = isAuth
    }
}
