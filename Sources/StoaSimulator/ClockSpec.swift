/// A fixed clock for one node, overriding the random skew and drift of the ``FaultModel``.
///
/// JSON: `{"offsetSeconds": 3600, "driftPPM": 0}` — the node's wall clock reads that far
/// ahead (negative: behind) of true time and runs that many parts per million fast.
public struct ClockSpec: Sendable, Equatable, Decodable {
    public var offsetMillis: Int64
    public var driftPPM: Int64

    public init(offsetMillis: Int64 = 0, driftPPM: Int64 = 0) {
        self.offsetMillis = offsetMillis
        self.driftPPM = driftPPM
    }

    private enum CodingKeys: String, CodingKey { case offsetSeconds, driftPPM }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let seconds = try container.decodeIfPresent(Double.self, forKey: .offsetSeconds) ?? 0
        guard seconds.isFinite, abs(seconds) < 1e9 else { throw ScenarioError("clocks: offsetSeconds out of range") }
        offsetMillis = Int64((seconds * 1000).rounded())
        driftPPM = try container.decodeIfPresent(Int64.self, forKey: .driftPPM) ?? 0
        guard abs(driftPPM) <= 100_000 else { throw ScenarioError("clocks: driftPPM must be within ±100000") }
    }
}
