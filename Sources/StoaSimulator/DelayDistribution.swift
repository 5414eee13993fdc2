import StoaCore

/// How long a message takes from send to delivery, in milliseconds.
///
/// JSON: `{"distribution": "uniform", "minMillis": 1, "maxMillis": 20}`,
/// `{"distribution": "exponential", "minMillis": 1, "meanMillis": 5, "maxMillis": 500}` (a
/// floor plus an exponential tail of the given mean, capped), or
/// `{"distribution": "constant", "millis": 3}`.
public enum DelayDistribution: Sendable, Equatable, Decodable {
    case constant(UInt64)
    case uniform(min: UInt64, max: UInt64)
    case exponential(min: UInt64, mean: Double, max: UInt64)

    /// Draws one delay; at least 1 ms, so a reply never arrives at the instant of its request.
    public func sample(_ rng: inout some RandomNumberGenerator) -> UInt64 {
        switch self {
        case .constant(let millis):
            return max(1, millis)
        case .uniform(let low, let high):
            return max(1, high > low ? low + rng.next() % (high - low + 1) : low)
        case .exponential(let low, let mean, let high):
            // Inverse transform: -mean · ln(1 - u), u in [0, 1).
            let tail = -mean * PortableMath.naturalLog(1 - SimMath.unit(&rng))
            let capped = tail.isFinite ? min(max(0, tail), Double(high)) : Double(high)
            return max(1, min(high, low + UInt64(capped)))
        }
    }

    private enum CodingKeys: String, CodingKey { case distribution, millis, minMillis, maxMillis, meanMillis }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(String.self, forKey: .distribution)
        switch kind {
        case "constant":
            self = .constant(try container.decode(UInt64.self, forKey: .millis))
        case "uniform":
            let low = try container.decode(UInt64.self, forKey: .minMillis)
            let high = try container.decode(UInt64.self, forKey: .maxMillis)
            guard high >= low else { throw ScenarioError("delay: maxMillis must be at least minMillis") }
            self = .uniform(min: low, max: high)
        case "exponential":
            let low = try container.decodeIfPresent(UInt64.self, forKey: .minMillis) ?? 0
            let mean = try container.decode(Double.self, forKey: .meanMillis)
            let high = try container.decodeIfPresent(UInt64.self, forKey: .maxMillis) ?? 10_000
            guard mean > 0, mean.isFinite, high >= low else { throw ScenarioError("delay: meanMillis must be positive and maxMillis at least minMillis") }
            self = .exponential(min: low, mean: mean, max: high)
        default:
            throw ScenarioError("delay: unknown distribution \"\(kind)\" (constant, uniform, exponential)")
        }
    }
}
