/// Which key a rate-limit policy counts requests under.
public enum RateLimitScope: String, Sendable, Codable, CaseIterable {
    /// The verified token subject; requests without a verified user skip `user` policies.
    case user
    /// The client address key (`ClientAddress.key`): an IPv4 address or an IPv6 /64.
    case ip
    /// One key shared by every request (e.g. a global write budget).
    case global
}
