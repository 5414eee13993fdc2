/// What the clients write during the safety phase of a run.
///
/// Writes arrive at ``writesPerSecond`` on average (each gap drawn uniformly in 0.5–1.5 times
/// the mean) from time 0 until ``durationMillis``; each picks a client by weight, a kind by
/// ``mix``, and one of the client's nodes. Updates, deletes and restores pick among the
/// ``hotRecords`` most recently created quotes, so writes conflict often.
public struct WorkloadSpec: Sendable, Equatable, Decodable {
    public var durationMillis: UInt64
    public var writesPerSecond: Double
    /// `nil`: one client per node, writing to that node only.
    public var clients: [ClientSpec]?
    /// Relative weights of the operation kinds.
    public var mix: [OperationKind: Double]
    public var hotRecords: Int
    /// Each update and tag edit is issued at the same instant on this many distinct nodes
    /// (same record, different values): two devices editing one quote at once. With equal
    /// clocks this makes HLC ties, which only the node-id tie-break resolves.
    public var simultaneous: Int
    /// The share of creates made twice at the same instant, under the same id, by two different
    /// users on two different nodes (a create racing another user's for an id: issue 16's
    /// hijack). The earlier create's user owns the record everywhere; the other stays hidden.
    public var rivalCreates: Double = 0
    /// How many distinct emails `signUp` writes draw from.
    public var emails: Int = 6

    public static let defaultMix: [OperationKind: Double] = [.create: 3, .update: 4, .tags: 2, .delete: 1, .restore: 1]

    public init(durationMillis: UInt64, writesPerSecond: Double, clients: [ClientSpec]? = nil,
                mix: [OperationKind: Double] = Self.defaultMix, hotRecords: Int = 20, simultaneous: Int = 1) {
        self.durationMillis = durationMillis
        self.writesPerSecond = writesPerSecond
        self.clients = clients
        self.mix = mix
        self.hotRecords = hotRecords
        self.simultaneous = simultaneous
    }

    private enum CodingKeys: String, CodingKey { case durationSeconds, writesPerSecond, clients, mix, hotRecords, simultaneous, rivalCreates, emails }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let seconds = try container.decode(Double.self, forKey: .durationSeconds)
        guard seconds >= 0, seconds < 1e6 else { throw ScenarioError("workload.durationSeconds out of range") }
        durationMillis = UInt64((seconds * 1000).rounded())
        writesPerSecond = try container.decode(Double.self, forKey: .writesPerSecond)
        guard writesPerSecond >= 0, writesPerSecond <= 10_000 else { throw ScenarioError("workload.writesPerSecond must be in 0...10000") }
        clients = try container.decodeIfPresent([ClientSpec].self, forKey: .clients)
        if let raw = try container.decodeIfPresent([String: Double].self, forKey: .mix) {
            var mix: [OperationKind: Double] = [:]
            for (name, weight) in raw {
                guard let kind = OperationKind(rawValue: name) else {
                    throw ScenarioError("workload.mix: unknown kind \"\(name)\" (\(OperationKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                guard weight >= 0, weight.isFinite else { throw ScenarioError("workload.mix: weights must be non-negative") }
                mix[kind] = weight
            }
            guard (mix[.create] ?? 0) > 0 else { throw ScenarioError("workload.mix: create must have a positive weight") }
            self.mix = mix
        } else {
            mix = Self.defaultMix
        }
        hotRecords = try container.decodeIfPresent(Int.self, forKey: .hotRecords) ?? 20
        simultaneous = try container.decodeIfPresent(Int.self, forKey: .simultaneous) ?? 1
        guard hotRecords >= 1 else { throw ScenarioError("workload.hotRecords must be at least 1") }
        guard simultaneous >= 1 else { throw ScenarioError("workload.simultaneous must be at least 1") }
        rivalCreates = try container.decodeIfPresent(Double.self, forKey: .rivalCreates) ?? 0
        guard (0...1).contains(rivalCreates) else { throw ScenarioError("workload.rivalCreates must be in 0...1") }
        emails = try container.decodeIfPresent(Int.self, forKey: .emails) ?? 6
        guard emails >= 1 else { throw ScenarioError("workload.emails must be at least 1") }
    }
}
