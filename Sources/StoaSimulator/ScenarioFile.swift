/// The raw JSON shape of a scenario file; ``Scenario/init(json:defaultName:)`` validates it.
struct ScenarioFile: Decodable {
    var name: String?
    var description: String?
    var nodes: [String]
    var tickMillis: UInt64?
    var clocks: [String: ClockSpec]?
    var workload: WorkloadSpec
    var faults: FaultModel?
    var events: [ScenarioEvent]?
    var checks: CheckSpec?
    var suiteSeeds: Int?
    var maxDriftSeconds: Double?
    var compactionIntervalSeconds: Double?
    var deadHorizonSeconds: Double?
}
