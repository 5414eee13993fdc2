/// The invariants checked at the end of a run (see simulations/README.md, "Invariants").
public struct CheckSpec: Sendable, Equatable, Decodable {
    /// The run fails unless replicas converge (and membership agrees, when checked) within
    /// this long after the quiet point: the later of the workload's end and the last event.
    public var convergedWithinMillis: UInt64
    /// Nodes whose clocks are beyond the drift bound: every other node MUST reject their
    /// changes (and count the rejections); they are checked on their own against the full
    /// reference model (see README, "The clock-ahead node").
    public var driftRejected: [String]
    public var noLostWrites: Bool
    public var matchesReference: Bool
    public var membershipAgreed: Bool
    /// When set: no acknowledged write may be stamped more than this far ahead of the true time
    /// it was acknowledged at (so no client, a device with a wrong clock included, can push
    /// the nodes' clocks ahead).
    public var maxStampLeadMillis: UInt64?
    /// Every running node MUST have compacted its log at least once by the end.
    public var logCompacted: Bool = false

    public init(convergedWithinMillis: UInt64 = 30_000, driftRejected: [String] = [], noLostWrites: Bool = true,
                matchesReference: Bool = true, membershipAgreed: Bool = true, maxStampLeadMillis: UInt64? = nil) {
        self.maxStampLeadMillis = maxStampLeadMillis
        self.convergedWithinMillis = convergedWithinMillis
        self.driftRejected = driftRejected
        self.noLostWrites = noLostWrites
        self.matchesReference = matchesReference
        self.membershipAgreed = membershipAgreed
    }

    private enum CodingKeys: String, CodingKey {
        case convergedWithinSeconds, driftRejected, noLostWrites, matchesReference, membershipAgreed, maxStampLeadSeconds, logCompacted
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let seconds = try container.decodeIfPresent(Double.self, forKey: .convergedWithinSeconds) ?? 30
        guard seconds > 0, seconds < 1e6 else { throw ScenarioError("checks.convergedWithinSeconds out of range") }
        convergedWithinMillis = UInt64((seconds * 1000).rounded())
        driftRejected = try container.decodeIfPresent([String].self, forKey: .driftRejected) ?? []
        noLostWrites = try container.decodeIfPresent(Bool.self, forKey: .noLostWrites) ?? true
        matchesReference = try container.decodeIfPresent(Bool.self, forKey: .matchesReference) ?? true
        membershipAgreed = try container.decodeIfPresent(Bool.self, forKey: .membershipAgreed) ?? true
        logCompacted = try container.decodeIfPresent(Bool.self, forKey: .logCompacted) ?? false
        if let lead = try container.decodeIfPresent(Double.self, forKey: .maxStampLeadSeconds) {
            guard lead >= 0, lead < 1e6 else { throw ScenarioError("checks.maxStampLeadSeconds out of range") }
            maxStampLeadMillis = UInt64((lead * 1000).rounded())
        }
    }
}
