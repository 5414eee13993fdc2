import Foundation
import Testing
@testable import StoaSimulator

@Suite("Scenario files")
struct ScenarioFileTests {
    @Test("every file in simulations/ loads and validates")
    func allLoad() throws {
        let files = SimulationFiles.scenarios
        #expect(!files.isEmpty)
        for file in files {
            let scenario = try Scenario.load(path: file)
            #expect(!scenario.description.isEmpty, "\(file) needs a description")
        }
    }

    @Test("the required scenarios ship")
    func required() throws {
        let names = Set(SimulationFiles.scenarios.map { URL(fileURLWithPath: $0).lastPathComponent })
        for name in ["minority-partition.json", "three-way-split.json", "flapping-link.json", "crash-restart.json",
                     "clock-ahead.json", "long-partition.json"] {
            #expect(names.contains(name), "\(name)")
        }
        let ahead = try SimulationFiles.scenario("clock-ahead.json")
        #expect(ahead.checks.driftRejected == ["n4"])
        #expect((ahead.clocks["n4"]?.offsetMillis ?? 0) > Int64(ahead.maxDriftMillis))
    }

    static let minimal = """
        {"nodes": ["n1", "n2", "n3"], "workload": {"durationSeconds": 5, "writesPerSecond": 2}, EVENTS}
        """

    func parse(_ events: String) throws -> Scenario {
        try Scenario(json: Data(Self.minimal.replacingOccurrences(of: "EVENTS", with: "\"events\": [\(events)]").utf8), defaultName: "test")
    }

    @Test("defaults, quiet point and event order")
    func defaults() throws {
        let scenario = try parse("""
            {"at": 9, "type": "heal"}, {"at": 2, "type": "partition", "groups": [["n1"]]},
            {"at": 3, "type": "flap", "from": ["n2"], "to": ["n3"], "periodSeconds": 1, "untilSeconds": 12}
            """)
        #expect(scenario.name == "test")
        #expect(scenario.tickMillis == 50)
        #expect(scenario.suiteSeeds == 50)
        #expect(scenario.maxDriftMillis == 60_000)
        #expect(scenario.checks.convergedWithinMillis == 30_000)
        #expect(scenario.events.map(\.atMillis) == [2000, 3000, 9000])
        #expect(scenario.quietMillis == 12_000)
    }

    @Test("invalid scenarios are refused with a reason", arguments: [
        (#"{"at": 1, "type": "crash", "node": "n9"}"#, "unknown node"),
        (#"{"at": 1, "type": "crash", "node": "n2"}"#, "never restarted"),
        (#"{"at": 1, "type": "restart", "node": "n2"}"#, "while up"),
        (#"{"at": 1, "type": "partition", "groups": [["n1"], ["n2"]]}"#, "not healed"),
        (#"{"at": 1, "type": "block", "from": ["n1"], "to": ["n2"]}"#, "not healed"),
        (#"{"at": 1, "type": "partition", "groups": [["n1", "n2"], ["n2"]]}, {"at": 2, "type": "heal"}"#, "overlap"),
        (#"{"at": 1, "type": "teleport"}"#, "unknown type"),
    ])
    func invalid(_ events: String, _ reason: String) {
        do {
            _ = try parse(events)
            Issue.record("accepted: \(events)")
        } catch let error as ScenarioError {
            #expect(error.message.contains(reason), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("a partition cuts every link between groups; the unlisted nodes form one group")
    func partitionCuts() {
        let cuts = Set(DirectedLink.cuts(between: [["n1"], ["n2"]], nodes: ["n1", "n2", "n3", "n4"]))
        // Groups {n1} {n2} {n3, n4}: everything except n3<->n4 is cut.
        #expect(cuts.count == 12 - 2)
        #expect(!cuts.contains(DirectedLink(from: "n3", to: "n4")))
        #expect(cuts.contains(DirectedLink(from: "n1", to: "n2")) && cuts.contains(DirectedLink(from: "n2", to: "n1")))
        #expect(DirectedLink.all(from: ["n1"], to: ["n1", "n2"]) == [DirectedLink(from: "n1", to: "n2")])
    }
}
