/// A rate-limit policy that cannot be used; `description` says why, for the operator.
public struct RateLimitPolicyError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
