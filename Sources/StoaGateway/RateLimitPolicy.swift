import Foundation

/// One rate limit: `burst` requests at once from idle and `rate` per second sustained, counted per
/// key of `scope` over requests of kind `traffic` (GCRA, see `GCRA`).
public struct RateLimitPolicy: Sendable, Hashable, Codable {
    /// Identifier shown in the `RateLimit-Policy`/`RateLimit` headers and statistics, e.g. "ip-reads":
    /// 1...64 characters from `A-Z a-z 0-9 - _ .` and unique within a limiter.
    public var name: String
    public var scope: RateLimitScope
    public var traffic: RateLimitTraffic
    /// Sustained requests per second, 10⁻⁶...10⁹ (exact to 10⁻⁶).
    public var rate: Double
    /// Requests admitted at once from idle, 1...10⁹.
    public var burst: Int

    public init(name: String, scope: RateLimitScope, traffic: RateLimitTraffic, rate: Double, burst: Int) {
        self.name = name
        self.scope = scope
        self.traffic = traffic
        self.rate = rate
        self.burst = burst
    }

    /// Parses `name:scope:traffic:rate:burst`, e.g. `ip-writes:ip:writes:10:20` (for CLI/TOML).
    /// - Throws: `RateLimitPolicyError` naming the part that is wrong.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.count == 5 else {
            throw RateLimitPolicyError("rate limit policy \"\(text)\" is not name:scope:traffic:rate:burst (e.g. ip-writes:ip:writes:10:20)")
        }
        guard let scope = RateLimitScope(rawValue: parts[1]) else {
            throw RateLimitPolicyError("rate limit policy \"\(text)\": scope \"\(parts[1])\" is not one of user, ip, global")
        }
        guard let traffic = RateLimitTraffic(rawValue: parts[2]) else {
            throw RateLimitPolicyError("rate limit policy \"\(text)\": traffic \"\(parts[2])\" is not one of reads, writes, auth, all")
        }
        guard let rate = Double(parts[3]) else {
            throw RateLimitPolicyError("rate limit policy \"\(text)\": rate \"\(parts[3])\" is not a number of requests per second")
        }
        guard let burst = Int(parts[4]) else {
            throw RateLimitPolicyError("rate limit policy \"\(text)\": burst \"\(parts[4])\" is not a whole number")
        }
        self.init(name: parts[0], scope: scope, traffic: traffic, rate: rate, burst: burst)
        try validate()
    }

    /// Checks the ranges documented on each property.
    /// - Throws: `RateLimitPolicyError` naming the first value out of range.
    public func validate() throws {
        guard (1...64).contains(name.utf8.count),
            name.utf8.allSatisfy({ Self.nameCharacters.contains($0) })
        else {
            throw RateLimitPolicyError("rate limit policy name \"\(name)\" must be 1-64 characters from A-Z a-z 0-9 - _ .")
        }
        guard rate.isFinite, rate >= 1e-6, rate <= 1e9 else {
            throw RateLimitPolicyError("rate limit policy \(name): rate \(rate) must be between 0.000001 and 1000000000 requests per second")
        }
        guard burst >= 1, burst <= 1_000_000_000 else {
            throw RateLimitPolicyError("rate limit policy \(name): burst \(burst) must be between 1 and 1000000000")
        }
    }

    /// The policy text `init(parsing:)` reads back.
    public var text: String { "\(name):\(scope.rawValue):\(traffic.rawValue):\(rate):\(burst)" }

    private static let nameCharacters: Set<UInt8> = Set(
        Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.".utf8)
    )
}
