import Foundation

/// A simulation scenario, as read from a JSON file in `simulations/` (format in
/// simulations/README.md): the nodes, the workload, the fault model, timed events and the
/// checks to make at the end.
///
/// A run has two phases (as in TigerBeetle's VOPR): a safety phase with the workload and the
/// faults, then, from the quiet point (``quietMillis``: the workload has ended and the last
/// event is past, so the network is healed and every node is up), a liveness phase without
/// writes in which the replicas MUST converge within ``CheckSpec/convergedWithinMillis``.
/// Background message faults (loss, duplication, reordering) continue in the liveness phase.
public struct Scenario: Sendable, Equatable {
    public var name: String
    public var description: String
    /// Node names; every node is given every other node's gossip address as a join seed.
    public var nodes: [String]
    /// How often each node's SWIM and replication machines get a tick (production: 50 ms).
    public var tickMillis: UInt64
    /// Fixed clocks of some nodes; the others draw skew and drift from ``faults``.
    public var clocks: [String: ClockSpec]
    public var workload: WorkloadSpec
    public var faults: FaultModel
    /// Timed events, in time order (events at the same instant in file order).
    public var events: [ScenarioEvent]
    public var checks: CheckSpec
    /// How many seeds the test suite runs (seeds 1...suiteSeeds).
    public var suiteSeeds: Int
    /// The drift bound every node's store enforces (production default 60 s).
    public var maxDriftMillis: UInt64
    /// How often every node compacts its change log (production default 10 s; 2 s here by
    /// default, so compaction runs many times in a run).
    public var compactionIntervalMillis: UInt64
    /// How long a dead member holds compaction back (production default 72 h).
    public var deadHorizonMillis: UInt64

    /// Nodes that start only at a `join` event (new members, with empty databases).
    public var lateNodes: Set<String> {
        Set(events.compactMap { if case .join(let node) = $0.action { node } else { nil } })
    }

    /// Nodes that leave the cluster at a `leave` event (they are not running at the end).
    public var leavingNodes: Set<String> {
        Set(events.compactMap { if case .leave(let node) = $0.action { node } else { nil } })
    }

    /// The end of the safety phase: the later of the workload's end and the last event.
    public var quietMillis: UInt64 {
        max(workload.durationMillis, events.map(\.lastEffectMillis).max() ?? 0)
    }

    // MARK: - Loading

    /// Reads and validates the scenario file at `path`; its name defaults to the file name.
    public static func load(path: String) throws -> Scenario {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ScenarioError("\(path): cannot read: \(error.localizedDescription)") }
        do {
            return try Scenario(json: data, defaultName: url.deletingPathExtension().lastPathComponent)
        } catch let error as ScenarioError {
            throw ScenarioError("\(path): \(error.message)")
        }
    }

    /// Decodes and validates a scenario from JSON.
    public init(json: Data, defaultName: String) throws {
        let file: ScenarioFile
        do {
            file = try JSONDecoder().decode(ScenarioFile.self, from: json)
        } catch let error as ScenarioError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw ScenarioError("missing field \"\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ScenarioError("wrong type at \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\"")
        } catch {
            throw ScenarioError("invalid JSON: \(error)")
        }
        name = file.name ?? defaultName
        description = file.description ?? ""
        nodes = file.nodes
        tickMillis = file.tickMillis ?? 50
        clocks = file.clocks ?? [:]
        workload = file.workload
        faults = file.faults ?? FaultModel()
        events = file.events ?? []
        checks = file.checks ?? CheckSpec()
        suiteSeeds = file.suiteSeeds ?? 50
        maxDriftMillis = UInt64(((file.maxDriftSeconds ?? 60) * 1000).rounded())
        let compaction = file.compactionIntervalSeconds ?? 2
        let horizon = file.deadHorizonSeconds ?? 72 * 3600
        guard compaction >= 0.1, compaction < 1e6 else { throw ScenarioError("compactionIntervalSeconds must be in 0.1..<1000000") }
        guard horizon >= 0, horizon < 1e7 else { throw ScenarioError("deadHorizonSeconds out of range") }
        compactionIntervalMillis = UInt64((compaction * 1000).rounded())
        deadHorizonMillis = UInt64((horizon * 1000).rounded())
        // A stable sort keeps same-instant events in file order.
        events = events.enumerated().sorted { ($0.element.atMillis, $0.offset) < ($1.element.atMillis, $1.offset) }.map(\.element)
        try validate()
    }

    // MARK: - Validation

    /// Checks names and the event timeline: known nodes only, no crash of a down node or
    /// restart of an up one, and by the quiet point every node up and every link healed (the
    /// liveness phase needs a whole, connected cluster).
    func validate() throws {
        guard !nodes.isEmpty, nodes.count <= 64 else { throw ScenarioError("nodes: between 1 and 64 nodes") }
        guard Set(nodes).count == nodes.count else { throw ScenarioError("nodes: names must be unique") }
        for node in nodes where node.isEmpty || node.utf8.count > 32 || !node.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
            throw ScenarioError("nodes: \"\(node)\" is not a short printable name")
        }
        guard (1...1000).contains(tickMillis) else { throw ScenarioError("tickMillis must be in 1...1000") }
        guard suiteSeeds >= 1 else { throw ScenarioError("suiteSeeds must be at least 1") }
        let known = Set(nodes)
        func requireKnown(_ names: [String], _ context: String) throws {
            for name in names where !known.contains(name) { throw ScenarioError("\(context): unknown node \"\(name)\"") }
        }
        try requireKnown(Array(clocks.keys).sorted(), "clocks")
        try requireKnown(checks.driftRejected, "checks.driftRejected")
        for client in workload.clients ?? [] { try requireKnown(client.nodes, "workload.clients") }
        guard workload.simultaneous <= nodes.count else { throw ScenarioError("workload.simultaneous exceeds the node count") }

        // Late nodes are down (never started) until they join; nodes that leave stay down.
        var down = lateNodes
        var left = Set<String>()
        var blocked = Set<DirectedLink>()
        var timeline: [(at: UInt64, order: Int, action: ScenarioEvent.Action)] = []
        for (index, event) in events.enumerated() {
            try requireKnown(event.mentionedNodes, "events")
            timeline.append((event.atMillis, index, event.action))
            if case .flap(let from, let to, _, let until, let oneWay) = event.action {
                timeline.append((until, index, .unblock(from: from, to: to)))
                if !oneWay { timeline.append((until, index, .unblock(from: to, to: from))) }
            }
        }
        timeline.sort { ($0.at, $0.order) < ($1.at, $1.order) }
        for step in timeline {
            switch step.action {
            case .crash(let node):
                guard down.insert(node).inserted else { throw ScenarioError("events: \(node) crashes at \(step.at) ms while down") }
            case .restart(let node):
                guard !left.contains(node), down.remove(node) != nil else { throw ScenarioError("events: \(node) restarts at \(step.at) ms while up") }
            case .partition(let groups):
                let listed = groups.flatMap { $0 }
                guard Set(listed).count == listed.count else { throw ScenarioError("events: partition groups at \(step.at) ms overlap") }
                blocked.formUnion(DirectedLink.cuts(between: groups, nodes: nodes))
            case .heal:
                blocked.removeAll()
            case .block(let from, let to):
                blocked.formUnion(DirectedLink.all(from: from, to: to))
            case .unblock(let from, let to):
                blocked.subtract(DirectedLink.all(from: from, to: to))
            case .flap(let from, let to, _, _, let oneWay):
                blocked.formUnion(DirectedLink.all(from: from, to: to))
                if !oneWay { blocked.formUnion(DirectedLink.all(from: to, to: from)) }
            case .clockJump:
                break
            case .join(let node):
                guard down.remove(node) != nil, !left.contains(node) else { throw ScenarioError("events: \(node) joins at \(step.at) ms but is not a new node") }
            case .leave(let node):
                guard !down.contains(node), left.insert(node).inserted else { throw ScenarioError("events: \(node) leaves at \(step.at) ms while down") }
                down.insert(node)
            }
            if case .crash(let node) = step.action, left.contains(node) { throw ScenarioError("events: \(node) crashes after leaving") }
        }
        down.subtract(left)
        guard down.isEmpty else {
            throw ScenarioError("events: \(down.sorted().joined(separator: ", ")) never restarted (every crashed node must be back by the quiet point)")
        }
        guard blocked.isEmpty else {
            throw ScenarioError("events: the network is not healed after the last event (end with a heal)")
        }
    }
}
