/// The background faults of a scenario: what every message risks, and how far node clocks
/// are apart. Timed faults (partitions, crashes, clock jumps) are ``ScenarioEvent``s.
///
/// Every message — SWIM datagrams and replication stream messages alike — is subject to the
/// same model. That is harsher than TCP, which neither duplicates nor reorders within a
/// connection; the protocol must survive it anyway, since merge is idempotent and
/// anti-entropy repairs losses.
public struct FaultModel: Sendable, Equatable, Decodable {
    /// Probability that a message is lost.
    public var loss: Double = 0
    /// Probability that a delivered message is delivered a second time (its own delay).
    public var duplicate: Double = 0
    /// Probability that a message is held back by up to ``reorderExtraMillis`` more, so later
    /// messages overtake it.
    public var reorder: Double = 0
    public var reorderExtraMillis: UInt64 = 200
    /// The delay of every message.
    public var delay: DelayDistribution = .uniform(min: 1, max: 10)
    /// Each node's wall clock is offset by a uniform draw in `±clockSkewMillis` (unless the
    /// scenario fixes that node's clock).
    public var clockSkewMillis: UInt64 = 0
    /// Each node's clocks run fast or slow by a uniform draw in `±clockDriftPPM` parts per million.
    public var clockDriftPPM: UInt64 = 0

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case loss, duplicate, reorder, reorderExtraMillis, delay, clockSkewMillis, clockDriftPPM
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        loss = try container.decodeIfPresent(Double.self, forKey: .loss) ?? 0
        duplicate = try container.decodeIfPresent(Double.self, forKey: .duplicate) ?? 0
        reorder = try container.decodeIfPresent(Double.self, forKey: .reorder) ?? 0
        reorderExtraMillis = try container.decodeIfPresent(UInt64.self, forKey: .reorderExtraMillis) ?? 200
        delay = try container.decodeIfPresent(DelayDistribution.self, forKey: .delay) ?? .uniform(min: 1, max: 10)
        clockSkewMillis = try container.decodeIfPresent(UInt64.self, forKey: .clockSkewMillis) ?? 0
        clockDriftPPM = try container.decodeIfPresent(UInt64.self, forKey: .clockDriftPPM) ?? 0
        for (name, p) in [("loss", loss), ("duplicate", duplicate), ("reorder", reorder)] where !(0...1).contains(p) {
            throw ScenarioError("faults.\(name) must be a probability in [0, 1]")
        }
        guard clockDriftPPM <= 100_000 else { throw ScenarioError("faults.clockDriftPPM must be at most 100000") }
    }
}
