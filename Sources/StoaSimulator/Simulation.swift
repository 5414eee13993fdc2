import StoaCore
import StoaGossip
import StoaStore

/// One run of one scenario with one seed: N nodes in this process, each with the real
/// ``SWIMInstance``, ``ReplicationMachine`` and an in-memory ``StoaDatabase``, driven like
/// the NIO shell (`ClusterNode`) drives them, over a simulated network and simulated clocks.
///
/// The run is a discrete-event simulation: a priority queue of (time, sequence) events —
/// node ticks, message deliveries, client writes, scenario faults, convergence probes — is
/// drained in order, and every store call is awaited before the next event starts, so the
/// execution order (and the trace) depends only on the scenario and the seed. All randomness
/// comes from generators derived from the seed (``SeedDerivation``), and every message is
/// encoded with ``WireCodec`` when sent and decoded when delivered.
///
/// Never imports NIO: the simulator is the second driver of the same state machines.
public final class Simulation {
    /// What the event queue holds.
    enum Event {
        case tick(node: Int, epoch: Int)
        case deliver(InFlightMessage)
        case write
        case fault(ScenarioEvent.Action)
        /// A flap's half-period: cut or restore these links.
        case links(cut: Bool, [DirectedLink])
        case probe
        /// A periodic check of the bounded-history rule on every running node's log.
        case logCheck
    }

    /// How often the liveness phase checks whether the replicas converged.
    static let probeIntervalMillis: UInt64 = 100

    public let scenario: Scenario
    public let seed: UInt64
    let options: SimulationOptions
    let time = SimulatedTime()
    let names: [String]
    var queue = EventQueue<Event>()
    var nodes: [SimulatedNode] = []
    var addresses: [MemberAddress: Int] = [:]
    var network: SimulatedNetwork
    var workload: WorkloadDriver
    var trace: TraceRecorder
    var acknowledged: [AcknowledgedWrite] = []
    /// The last clock reading each device client stamped an edit with (by client index).
    var deviceClocks: [Int: HLCTimestamp] = [:]
    /// True time of the event being handled.
    var now: UInt64 = 0
    var messageNumber: UInt64 = 0
    var convergedAt: UInt64?
    /// Problems seen while running (store errors, malformed writes), reported with the checks.
    var runViolations: [String] = []
    var eventCount = 0

    /// Builds the cluster: clocks, stores, protocol machines and the first events.
    ///
    /// - Throws: store errors when an in-memory database cannot be created; a
    ///   ``ScenarioError`` when an option names an unknown node.
    public init(scenario: Scenario, seed: UInt64, options: SimulationOptions = .init()) throws {
        self.scenario = scenario
        self.seed = seed
        self.options = options
        names = scenario.nodes
        network = SimulatedNetwork(faults: scenario.faults, names: scenario.nodes, seed: seed)
        workload = WorkloadDriver(spec: scenario.workload, nodes: scenario.nodes, seed: seed)
        trace = TraceRecorder(keepLines: options.keepTrace)
        if let faulty = options.flippedTieBreakNode, !names.contains(faulty) {
            throw ScenarioError("fault injection: unknown node \"\(faulty)\"")
        }
        let ids = names.enumerated().map { index, name in
            MemberID(name: name, host: "10.0.\(index / 250).\(index % 250 + 1)", port: 7946)
        }
        for (index, id) in ids.enumerated() { addresses[id.address] = index }
        var phases: [UInt64] = []
        for (index, name) in names.enumerated() {
            var clockRNG = SeedDerivation.generator(seed: seed, purpose: "clock \(name)")
            let fixed = scenario.clocks[name]
            let skew = Int64(scenario.faults.clockSkewMillis)
            let ppm = Int64(scenario.faults.clockDriftPPM)
            let offset = fixed?.offsetMillis ?? (skew > 0 ? Int64(clockRNG.next() % UInt64(2 * skew + 1)) - skew : 0)
            let drift = fixed?.driftPPM ?? (ppm > 0 ? Int64(clockRNG.next() % UInt64(2 * ppm + 1)) - ppm : 0)
            let base = 1_000_000 + clockRNG.next() % 1_000_000_000
            phases.append(clockRNG.next() % scenario.tickMillis)
            let clock = SimulatedClock(time: time, offsetMillis: offset, driftPPM: drift, monotonicBase: base)
            let database = try StoaDatabase.inMemory(
                nodeName: name, maxDriftMillis: scenario.maxDriftMillis, physicalMillis: clock.physicalMillis
            )
            let merge: (@Sendable (RecordState, RecordState) -> RecordState)? =
                options.flippedTieBreakNode == name ? FlippedTieBreakMerge.merge : nil
            var replication = ReplicationConfiguration()
            replication.compactionIntervalMillis = scenario.compactionIntervalMillis
            replication.deadMemberHorizonMillis = scenario.deadHorizonMillis
            let node = SimulatedNode(
                index: index, name: name, id: ids[index], seeds: ids.filter { $0 != ids[index] }.map(\.address),
                clock: clock, database: database, merge: merge,
                rng: SeedDerivation.generator(seed: seed, purpose: "node \(name)"), replicationConfiguration: replication
            )
            if scenario.lateNodes.contains(name) { node.notStarted() }
            nodes.append(node)
            trace.record("0 \(name) clock offset=\(offset)ms drift=\(drift)ppm\(node.up ? "" : " (joins later)")")
        }
        scheduleStart(phases: phases)
    }

    /// The first tick of every node, the scenario's faults (flaps expanded with the
    /// `"events"` generator), the first write and the first convergence probe.
    private func scheduleStart(phases: [UInt64]) {
        for node in nodes where node.up { queue.schedule(at: phases[node.index], .tick(node: node.index, epoch: node.epoch)) }
        var eventRNG = SeedDerivation.generator(seed: seed, purpose: "events")
        for event in scenario.events {
            guard case .flap(let from, let to, let period, let until, let oneWay) = event.action else {
                queue.schedule(at: event.atMillis, .fault(event.action))
                continue
            }
            let links = DirectedLink.all(from: from, to: to) + (oneWay ? [] : DirectedLink.all(from: to, to: from))
            var at = event.atMillis
            var cut = true
            while at < until {
                queue.schedule(at: at, .links(cut: cut, links))
                let half = Double(period) / 2 * (0.5 + SimMath.unit(&eventRNG))
                at += max(1, UInt64(half))
                cut.toggle()
            }
            queue.schedule(at: until, .links(cut: false, links))
        }
        let first = workload.nextGap()
        if first < scenario.workload.durationMillis { queue.schedule(at: first, .write) }
        queue.schedule(at: scenario.quietMillis, .probe)
        queue.schedule(at: Self.logCheckIntervalMillis, .logCheck)
    }

    // MARK: - Running

    /// Runs the scenario to convergence (or its deadline) and checks the invariants.
    public func run() async throws -> SimulationResult {
        let deadline = scenario.quietMillis + scenario.checks.convergedWithinMillis
        while let entry = queue.pop() {
            guard entry.time <= deadline else {
                now = deadline
                break
            }
            now = entry.time
            time.advance(to: now)
            eventCount += 1
            guard eventCount <= options.maxEvents else {
                runViolations.append("runaway: more than \(options.maxEvents) events")
                break
            }
            switch entry.payload {
            case .tick(let node, let epoch): await tick(node, epoch: epoch)
            case .deliver(let message): await deliver(message)
            case .write: await clientWrite()
            case .fault(let action): applyFault(action)
            case .links(let cut, let links): cutLinks(links, cut: cut)
            case .probe:
                probe()
            case .logCheck:
                await checkLogs()
                if now + Self.logCheckIntervalMillis <= scenario.quietMillis { queue.schedule(at: now + Self.logCheckIntervalMillis, .logCheck) }
            }
            if convergedAt != nil { break }
        }
        var violations = runViolations
        if convergedAt == nil {
            violations.append("not converged within \(scenario.checks.convergedWithinMillis) ms after the quiet point (\(scenario.quietMillis) ms): \(divergenceSummary())")
        }
        let snapshots = try await snapshot()
        var checker = InvariantChecker(checks: scenario.checks, snapshots: snapshots, acknowledged: acknowledged)
        violations += checker.run()
        var result = SimulationResult(
            scenario: scenario.name, seed: seed, violations: violations, traceHash: trace.hash, traceLines: trace.lineCount,
            trace: trace.lines, simulatedMillis: now, convergenceMillis: convergedAt.map { $0 - scenario.quietMillis },
            network: network.statistics, writesAcknowledged: 0, writesRefused: 0, writesUnavailable: 0,
            driftRejections: 0, events: eventCount
        )
        for node in nodes {
            result.writesAcknowledged += node.counters.writesAcknowledged
            result.writesRefused += node.counters.writesRefused
            result.writesUnavailable += node.counters.writesUnavailable
            result.driftRejections += node.counters.driftRejected
        }
        return result
    }

    // MARK: - Convergence probe

    private var aheadNames: Set<String> { Set(scenario.checks.driftRejected) }

    /// In the liveness phase: converged when every node accepting the others' changes holds
    /// the same version vector, each clock-ahead node holds at least that, and (when checked)
    /// every running node sees every other alive. The digests and query results are compared
    /// by the final checks.
    private func probe() {
        if isConverged() {
            convergedAt = now
            trace.record("\(now) converged")
        } else {
            queue.schedule(at: now + Self.probeIntervalMillis, .probe)
        }
    }

    func isConverged() -> Bool {
        let ahead = aheadNames
        let converging = nodes.filter { $0.up && !ahead.contains($0.name) }
        if let reference = converging.first?.database.versionVector() {
            for node in converging.dropFirst() where node.database.versionVector() != reference { return false }
            for node in nodes where node.up && ahead.contains(node.name) {
                guard node.database.versionVector().dominates(reference) else { return false }
            }
        }
        if scenario.checks.membershipAgreed {
            for node in nodes where node.up {
                for other in nodes where other.up && other.index != node.index {
                    guard node.swim.member(named: other.name)?.status == .alive else { return false }
                }
            }
        }
        return true
    }

    /// Who holds what, for a convergence failure: each node's vector and non-alive views.
    func divergenceSummary() -> String {
        nodes.map { node in
            let vector = node.database.versionVector().entries.sorted { $0.key < $1.key }
                .map { "\($0.key):\($0.value.contiguous)\($0.value.extra.isEmpty ? "" : "+\($0.value.extra.count)")" }
                .joined(separator: ",")
            let views = nodes.filter { $0.index != node.index }.compactMap { other -> String? in
                let status = node.swim.member(named: other.name)?.status
                return status == .alive ? nil : "\(other.name)=\(status?.rawValue ?? "unknown")"
            }
            return "\(node.name)\(node.up ? "" : "(down)") [\(vector)]\(views.isEmpty ? "" : " sees \(views.joined(separator: ","))")"
        }.joined(separator: "; ")
    }

    // MARK: - Final state

    /// Reads every node's state through the store's public API.
    func snapshot() async throws -> [NodeSnapshot] {
        var out: [NodeSnapshot] = []
        for node in nodes {
            let database = node.database
            let rows = try await database.list(.quotes, query: ListQuery(order: "id", perPage: 100_000_000, skipTotal: true)).items
            let log = try await database.changes(notIn: VersionVector(), limit: Int.max).map {
                LogEntry(origin: $0.origin, seq: $0.seq, collection: $0.collection, recordID: $0.recordID, owner: $0.owner)
            }
            var membership: [String: MemberStatus?] = [:]
            for other in names where other != node.name { membership[other] = node.swim.member(named: other)?.status }
            out.append(NodeSnapshot(
                name: node.name, up: node.up, hasLeft: node.hasLeft, digest: try await database.digest(), rows: rows,
                vector: database.versionVector(), log: log, logFloor: database.floorVector(), emailClaims: try await database.emailClaims(),
                superuserClaims: try await database.emailClaims(.superusers),
                membership: membership,
                counters: node.counters
            ))
        }
        return out
    }

    // MARK: - Bounded history

    /// How often the logs are checked during the safety phase (and at the quiet point).
    static let logCheckIntervalMillis: UInt64 = 2000

    /// Every running node's log, checked against the history rule during the safety phase,
    /// while partitions, crashes and joins keep the replicas apart: see
    /// ``InvariantChecker/logViolations(_:)``.
    func checkLogs() async {
        var logs: [(name: String, log: [LogEntry])] = []
        for node in nodes where node.up {
            do {
                let log = try await node.database.changes(notIn: VersionVector(), limit: Int.max).map {
                    LogEntry(origin: $0.origin, seq: $0.seq, collection: $0.collection, recordID: $0.recordID, owner: $0.owner)
                }
                logs.append((node.name, log))
            } catch {
                runViolations.append("\(node.name): reading the log failed: \(error)")
            }
        }
        for violation in InvariantChecker.logViolations(logs, floors: nodes.map { $0.database.floorVector() }) where runViolations.count < 20 { runViolations.append("at \(now) ms: \(violation)") }
        trace.record("\(now) logs \(logs.map { "\($0.name)=\($0.log.count)" }.joined(separator: " "))")
    }
}
