import StoaCore

/// Plans the clients' writes from the ``WorkloadSpec`` with its own generator (purpose
/// `"workload"`) and tracks what the clients know: the quotes whose creation was
/// acknowledged (updates, deletes and restores pick among the most recent of them) and which
/// of those they believe deleted.
///
/// Every value written is unique in the run (it carries the write's number), so a final
/// value always tells which write it came from.
struct WorkloadDriver {
    let spec: WorkloadSpec
    let nodeCount: Int
    /// Per client: node indices, owner id, and for a device its clock offset.
    let clients: [(nodes: [Int], user: String, deviceOffset: Int64?)]
    private let clientWeights: [Double]
    private let kindWeights: [(OperationKind, Double)]
    private var rng: SplitMix64
    private(set) var created: [String] = []
    /// Per client, the quotes it created.
    private var createdBy: [[String]]
    private var believedDeleted = Set<String>()
    private var writeNumber = 0

    static let textFields = ["content", "author", "source", "notes"]
    static let vocabulary = ["stoic", "seneca", "time", "death", "virtue", "fate", "mind", "habit"]

    init(spec: WorkloadSpec, nodes: [String], seed: UInt64) {
        self.spec = spec
        self.nodeCount = nodes.count
        let specs = spec.clients ?? nodes.map { ClientSpec(nodes: [$0]) }
        clients = specs.enumerated().map { index, client in
            let user = "user" + String(repeating: "0", count: max(0, 11 - String(index + 1).count)) + String(index + 1)
            return (client.nodes.compactMap { nodes.firstIndex(of: $0) }, user, client.deviceClockOffsetMillis)
        }
        clientWeights = specs.map(\.weight)
        kindWeights = OperationKind.allCases.map { ($0, spec.mix[$0] ?? 0) }
        rng = SeedDerivation.generator(seed: seed, purpose: "workload")
        createdBy = Array(repeating: [], count: specs.count)
    }

    // MARK: - Timing

    /// The gap to the next write: the mean gap times a uniform factor in [0.5, 1.5), at least 1 ms.
    mutating func nextGap() -> UInt64 {
        guard spec.writesPerSecond > 0 else { return UInt64.max / 4 }
        let mean = 1000 / spec.writesPerSecond
        return max(1, UInt64(mean * (0.5 + SimMath.unit(&rng))))
    }

    // MARK: - Planning

    /// The next write(s): usually one; `simultaneous` copies on distinct nodes for updates
    /// and tag edits when the spec asks for it.
    mutating func plan() -> [PlannedWrite] {
        let client = pick(clientWeights)
        var kind = kindWeights[pick(kindWeights.map(\.1))].0
        // A device edits only its own quotes (a device batch may only touch its user's records).
        if !kind.isAccount, created.isEmpty || (clients[client].deviceOffset != nil && createdBy[client].isEmpty) { kind = .create }
        if kind.isAccount, clients[client].deviceOffset != nil { kind = .create }
        let choices = clients[client].nodes
        guard !choices.isEmpty else { return [] }
        var targets = [choices[Int.random(in: 0..<choices.count, using: &rng)]]
        if spec.simultaneous > 1, kind == .update || kind == .tags {
            let others = (0..<nodeCount).filter { $0 != targets[0] }.shuffled(using: &rng)
            targets += others.prefix(spec.simultaneous - 1)
        }
        let record = kind == .create || kind.isAccount ? RecordID.generate(using: &rng) : pickRecord(for: kind, client: client)
        var writes = targets.map { node in makeWrite(kind: kind, client: client, node: node, record: record) }
        if kind == .create, spec.rivalCreates > 0, SimMath.unit(&rng) < spec.rivalCreates, let rival = rivalPlan(against: client, on: targets[0], record: record) {
            writes.append(rival)
        }
        return writes
    }

    /// Another user's create of the same id at the same instant on another node (for
    /// ``WorkloadSpec/rivalCreates``), or nil when no other client writes to another node.
    private mutating func rivalPlan(against client: Int, on node: Int, record: String) -> PlannedWrite? {
        let candidates = clients.indices.filter { index in
            index != client && clients[index].user != clients[client].user && clients[index].deviceOffset == nil
                && clients[index].nodes.contains { $0 != node }
        }
        guard !candidates.isEmpty else { return nil }
        let rival = candidates[Int.random(in: 0..<candidates.count, using: &rng)]
        let nodes = clients[rival].nodes.filter { $0 != node }
        return makeWrite(kind: .create, client: rival, node: nodes[Int.random(in: 0..<nodes.count, using: &rng)], record: record)
    }

    private mutating func makeWrite(kind: OperationKind, client: Int, node: Int, record: String) -> PlannedWrite {
        writeNumber += 1
        let number = writeNumber
        var write = PlannedWrite(
            client: client, node: node, kind: kind, recordID: record, fields: [:], tags: [], tagEdit: nil,
            deviceClockOffsetMillis: clients[client].deviceOffset
        )
        switch kind {
        case .create:
            for field in Self.textFields { write.fields[field] = .string("\(field)-\(number)") }
            write.fields["userId"] = .string(clients[client].user)
            write.tags = randomTags(upTo: 3)
        case .update:
            let count = 1 + Int(rng.next() % 2)
            for field in Self.textFields.shuffled(using: &rng).prefix(count) {
                write.fields[field] = .string("\(field)-\(number)")
            }
        case .tags:
            if rng.next() % 2 == 0 {
                write.tagEdit = .assign(randomTags(upTo: 4))
            } else {
                write.tagEdit = .modify(add: randomTags(upTo: 2), remove: randomTags(upTo: 1))
            }
        case .delete, .restore:
            break
        case .signUp, .superuser:
            let number = Int(rng.next() % UInt64(spec.emails))
            write.fields["email"] = .string((rng.next() % 2 == 0 ? "Member" : "member") + "\(number)@example.com")
        }
        return write
    }

    private mutating func randomTags(upTo limit: Int) -> [String] {
        let count = Int(rng.next() % UInt64(limit + 1))
        return Array(Self.vocabulary.shuffled(using: &rng).prefix(count))
    }

    /// A recent quote — four times in five one the client created itself, else any client's —
    /// for a restore preferably one believed deleted, for the other kinds preferably one
    /// believed live (the node may know better and refuse).
    private mutating func pickRecord(for kind: OperationKind, client: Int) -> String {
        let own = createdBy[client]
        let source = clients[client].deviceOffset != nil ? own : own.isEmpty || rng.next() % 5 == 0 ? created : own
        let hot = Array(source.suffix(spec.hotRecords))
        let preferred = hot.filter { (kind == .restore) == believedDeleted.contains($0) }
        let pool = preferred.isEmpty || rng.next() % 10 == 0 ? hot : preferred
        return pool[Int.random(in: 0..<pool.count, using: &rng)]
    }

    /// Picks an index with probability proportional to its weight.
    private mutating func pick(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        guard total > 0 else { return 0 }
        var target = SimMath.unit(&rng) * total
        for (index, weight) in weights.enumerated() {
            if target < weight { return index }
            target -= weight
        }
        return weights.count - 1
    }

    // MARK: - Learning outcomes

    /// The client saw `write` acknowledged.
    mutating func acknowledged(_ write: PlannedWrite) {
        switch write.kind {
        case .create:
            created.append(write.recordID)
            createdBy[write.client].append(write.recordID)
        case .delete: believedDeleted.insert(write.recordID)
        case .restore: believedDeleted.remove(write.recordID)
        case .update, .tags, .signUp, .superuser: break
        }
    }
}
