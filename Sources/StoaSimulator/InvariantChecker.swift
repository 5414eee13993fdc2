import StoaCore
import StoaGossip
import StoaStore

/// The end-of-run invariants (simulations/README.md, "Invariants"), over the nodes'
/// snapshots and the acknowledged writes. Returns human-readable violations; none means the
/// run passed.
///
/// Nodes named in ``CheckSpec/driftRejected`` ("clock-ahead" nodes) are treated as
/// documented: every other node MUST have rejected their changes (and counted it), the other
/// nodes MUST converge among themselves to the model of every acknowledged write except the
/// clock-ahead nodes' own, and each clock-ahead node MUST hold everything the others hold
/// and equal the model of every acknowledged write.
struct InvariantChecker {
    let checks: CheckSpec
    let snapshots: [NodeSnapshot]
    let acknowledged: [AcknowledgedWrite]
    /// At most this many violations are reported (the first ones usually explain the rest).
    var limit = 20
    private(set) var violations: [String] = []

    init(checks: CheckSpec, snapshots: [NodeSnapshot], acknowledged: [AcknowledgedWrite]) {
        self.checks = checks
        self.snapshots = snapshots
        self.acknowledged = acknowledged
    }

    private mutating func fail(_ message: String) {
        if violations.count < limit { violations.append(message) }
    }

    private var aheadNames: Set<String> { Set(checks.driftRejected) }

    /// The nodes that accept each other's changes and must end equal.
    private var converging: [NodeSnapshot] { snapshots.filter { $0.up && !aheadNames.contains($0.name) } }

    /// Runs every check.
    mutating func run() -> [String] {
        checkConvergence()
        checkDriftRejection()
        let writes = modelWrites()
        checkAgainstModel(writes)
        if let lead = checks.maxStampLeadMillis { checkStampLead(writes, maxLeadMillis: lead) }
        if checks.membershipAgreed { checkMembership() }
        checkLeftNodes()
        checkEmails()
        for violation in Self.logViolations(snapshots.filter(\.up).map { ($0.name, $0.log) }, floors: snapshots.map(\.logFloor)) { fail(violation) }
        if checks.logCompacted { checkCompacted() }
        return violations
    }

    // MARK: - Convergence

    /// Equal digests, equal query results and equal version vectors on every converging node.
    mutating func checkConvergence() {
        guard let first = converging.first else { return }
        for other in converging.dropFirst() {
            if other.digest != first.digest { fail("digests differ: \(first.name) \(first.digest), \(other.name) \(other.digest)") }
            if other.rows != first.rows { fail("query results differ between \(first.name) and \(other.name): \(Self.firstDifference(first.rows, other.rows))") }
            if other.vector != first.vector { fail("version vectors differ between \(first.name) and \(other.name)") }
        }
    }

    static func firstDifference(_ lhs: [StoredRecord], _ rhs: [StoredRecord]) -> String {
        if lhs.count != rhs.count { return "\(lhs.count) vs \(rhs.count) live quotes" }
        for (a, b) in zip(lhs, rhs) where a != b {
            return a.id != b.id ? "quote \(a.id) vs \(b.id)" : "quote \(a.id): \(Self.describe(a)) vs \(Self.describe(b))"
        }
        return "same rows"
    }

    static func describe(_ record: StoredRecord) -> String {
        let fields = record.values.keys.sorted().map { "\($0)=\(ReferenceModel.text(record.values[$0]))" }.joined(separator: " ")
        return "{\(fields) tags=\(record.tags) created=\(record.created) updated=\(record.updated)}"
    }

    // MARK: - Drift

    /// Every converging node rejected the clock-ahead nodes' changes and counted it; each
    /// clock-ahead node holds everything the converging nodes hold.
    mutating func checkDriftRejection() {
        for ahead in checks.driftRejected {
            let wrote = acknowledged.contains { $0.origin == ahead }
            for node in converging {
                if let entry = node.vector.entries[ahead], entry.contiguous > 0 || !entry.extra.isEmpty {
                    fail("\(node.name) accepted changes of \(ahead), whose clock is beyond the drift bound (up to #\(entry.maximum))")
                }
                if wrote, node.counters.driftRejected == 0 {
                    fail("\(node.name) counted no drift rejection although \(ahead) wrote with a clock beyond the bound")
                }
            }
            if let snapshot = snapshots.first(where: { $0.name == ahead }), let reference = converging.first,
               !snapshot.vector.dominates(reference.vector) {
                fail("\(ahead) (clock ahead) lacks changes the others hold")
            }
        }
    }

    // MARK: - Reference model and lost writes

    /// The acknowledged writes joined with the changes their origins recorded.
    mutating func modelWrites() -> [ModelWrite] {
        var out: [ModelWrite] = []
        for write in acknowledged where !write.kind.isAccount {
            let (model, problem) = ModelWrite.make(write, change: write.change)
            if let problem { fail(problem) }
            if let model { out.append(model) }
        }
        return out
    }

    mutating func checkAgainstModel(_ writes: [ModelWrite]) {
        let accepted = ReferenceModel(writes.filter { !aheadNames.contains($0.write.origin) })
        let full = ReferenceModel(writes)
        for node in snapshots where node.up {
            let model = aheadNames.contains(node.name) ? full : accepted
            if checks.matchesReference { compare(node, with: model) }
            if checks.noLostWrites { checkNothingLost(node, model: model) }
        }
    }

    /// The node's query results equal the model's live quotes.
    mutating func compare(_ node: NodeSnapshot, with model: ReferenceModel) {
        let expected = model.expectedRows()
        var differences = 0
        for row in node.rows {
            guard let want = expected[row.id] else {
                differences += 1
                if differences <= 3 { fail("\(node.name): quote \(row.id) is live, the reference model has it deleted or never created") }
                continue
            }
            if want != row {
                differences += 1
                if differences <= 3 { fail("\(node.name): quote \(row.id) is \(Self.describe(row)), the reference model says \(Self.describe(want))") }
            }
        }
        let present = Set(node.rows.map(\.id))
        for id in expected.keys.sorted() where !present.contains(id) {
            differences += 1
            if differences <= 3 { fail("\(node.name): quote \(id) is missing, the reference model has it live") }
        }
        if differences > 3 { fail("\(node.name): \(differences) quotes differ from the reference model") }
    }

    /// Every acknowledged write the node must hold is in its version vector, and its effect
    /// is visible or superseded: each field it set shows its value unless a write with a
    /// greater stamp set that field; the quote is live/deleted as it left it unless a greater
    /// (length, stamp) exists; each tag it added shows unless a write observed and removed
    /// that add; each tag it removed is absent unless another add of it was not observed.
    mutating func checkNothingLost(_ node: NodeSnapshot, model: ReferenceModel) {
        let rows = Dictionary(uniqueKeysWithValues: node.rows.map { ($0.id, $0) })
        var lost = 0
        func report(_ message: String) {
            lost += 1
            if lost <= 3 { fail(message) }
        }
        for (id, writes) in model.writes.sorted(by: { $0.key < $1.key }) {
            let row = rows[id]
            for write in writes {
                let label = write.write.label
                if !node.vector.contains(origin: write.write.origin, seq: write.write.seq) {
                    report("\(node.name) lost \(label): not in its version vector")
                    continue
                }
                if let length = write.length {
                    let superseded = writes.contains { other in
                        other.length.map { ($0, other.stamp) > (length, write.stamp) } ?? false
                    }
                    if !superseded, (row != nil) != (length % 2 == 1) {
                        report("\(node.name) lost \(label): quote is \(row == nil ? "deleted" : "live") though no later delete or restore superseded it")
                    }
                }
                guard let row else { continue }
                for (name, value) in write.fields.sorted(by: { $0.key < $1.key }) where name != RecordState.tagOrderField {
                    let shown = name == "created" ? row.created : ReferenceModel.text(row.values[name])
                    guard shown != ReferenceModel.text(value) else { continue }
                    let superseded = writes.contains { $0.stamp > write.stamp && $0.fields[name] != nil }
                    if !superseded { report("\(node.name) lost \(label): \(name) shows \"\(shown)\" not \"\(ReferenceModel.text(value))\" and no later write set it") }
                }
                for (tag, stamps) in write.tagAdds.sorted(by: { $0.key < $1.key }) where stamps.contains(write.stamp) && !row.tags.contains(tag) {
                    let removed = writes.contains { $0.tagRemoves[tag]?.contains(write.stamp) ?? false }
                    if !removed { report("\(node.name) lost \(label): tag \(tag) missing though no write removed that add") }
                }
                for (tag, observed) in write.tagRemoves.sorted(by: { $0.key < $1.key }) where row.tags.contains(tag) {
                    let unobservedAdd = writes.contains { other in (other.tagAdds[tag] ?? []).contains { !observed.contains($0) } }
                    if !unobservedAdd { report("\(node.name) lost \(label): tag \(tag) still shows though every add of it was removed") }
                }
            }
        }
        for (_, writes) in model.hidden.sorted(by: { $0.key < $1.key }) {
            for write in writes where !node.vector.contains(origin: write.write.origin, seq: write.write.seq) {
                report("\(node.name) lost \(write.write.label) (a hidden lineage's): not in its version vector")
            }
        }
        if lost > 3 { fail("\(node.name): \(lost) acknowledged writes lost in all") }
    }

    // MARK: - Stamps

    /// No acknowledged write is stamped more than `maxLeadMillis` ahead of the true wall time
    /// at which it was acknowledged: nobody (a device with a wrong clock included) moved a
    /// node's clock ahead.
    mutating func checkStampLead(_ writes: [ModelWrite], maxLeadMillis: UInt64) {
        var ahead = 0
        for write in writes {
            let trueMillis = UInt64(SimulatedClock.epochMillis) + write.write.atMillis
            guard write.stamp.hlc.millis > trueMillis + maxLeadMillis else { continue }
            ahead += 1
            if ahead <= 3 {
                fail("\(write.write.label): stamped \(write.stamp.hlc.millis - trueMillis) ms ahead of the true time it was acknowledged at (at most \(maxLeadMillis) allowed)")
            }
        }
        if ahead > 3 { fail("\(ahead) acknowledged writes stamped too far ahead in all") }
    }

    // MARK: - One account per email

    /// Every acknowledged sign-up is on every running node; no email shows on two accounts; of
    /// the accounts claiming an email exactly one shows it, the earliest created, and the same
    /// one on every node (DESIGN notes: one account per email).
    mutating func checkEmails() {
        checkEmails(of: .signUp, in: "users", claims: \.emailClaims)
        checkEmails(of: .superuser, in: "_superusers", claims: \.superuserClaims)
    }

    /// ``checkEmails()`` for the accounts `kind` writes create in `collection`.
    private mutating func checkEmails(
        of kind: OperationKind, in collection: String, claims: KeyPath<NodeSnapshot, [(id: String, claimed: String, shown: String)]>
    ) {
        let signUps = acknowledged.filter { $0.kind == kind }
        guard !signUps.isEmpty else { return }
        var holders: [String: [String: String]] = [:]   // node -> email -> holder id
        for node in snapshots where node.up {
            let emailClaims = node[keyPath: claims]
            let ids = Set(emailClaims.map(\.id))
            for write in signUps where !ids.contains(write.recordID) { fail("\(node.name) lost the \(collection) account \(write.label)") }
            var shown: [String: [String]] = [:]
            var claimed = Set<String>()
            for claim in emailClaims {
                claimed.insert(claim.claimed.lowercased())
                if !claim.shown.isEmpty { shown[claim.shown.lowercased(), default: []].append(claim.id) }
            }
            for (email, owners) in shown.sorted(by: { $0.key < $1.key }) where owners.count > 1 {
                fail("\(node.name): \(owners.count) \(collection) accounts show \(email): \(owners.sorted())")
            }
            for email in claimed.sorted() where shown[email] == nil { fail("\(node.name): no \(collection) account holds \(email), which \(emailClaims.filter { $0.claimed.lowercased() == email }.count) claim") }
            holders[node.name] = shown.compactMapValues(\.first)
        }
        if let first = holders.sorted(by: { $0.key < $1.key }).first {
            for (name, other) in holders where other != first.value {
                fail("\(name) and \(first.key) disagree on which \(collection) account holds which email")
            }
        }
    }

    // MARK: - Bounded history

    /// The history rule (README, "Bounded history"): a node's log holds at most one change per
    /// record, lineage and origin, however often the record is edited. The one exception: a change some
    /// node has already compacted away (at or below the highest floor of its origin: every member
    /// held it then) may still sit in a log beside a newer change of the record that does not
    /// cover it (the origin compacted its own before writing the newer one, or a node that joined
    /// late got both); compaction removes it.
    ///
    /// - Parameters:
    ///   - logs: each running node's name and log.
    ///   - floors: the log floor of every node, running or down.
    static func logViolations(_ logs: [(name: String, log: [LogEntry])], floors: [VersionVector]) -> [String] {
        var compacted: [String: UInt64] = [:]
        for floor in floors {
            for (origin, entry) in floor.entries { compacted[origin] = max(compacted[origin] ?? 0, entry.contiguous) }
        }
        var out: [String] = []
        for (name, log) in logs {
            var perRecord: [String: Int] = [:]
            for entry in log where entry.seq > (compacted[entry.origin] ?? 0) {
                perRecord["\(entry.origin) \(entry.collection)/\(entry.recordID) (lineage \(entry.owner))", default: 0] += 1
            }
            let over = perRecord.filter { $0.value > 1 }.sorted { $0.key < $1.key }
            if let first = over.first {
                out.append("\(name): the log holds \(first.value) changes of \(first.key) (\(over.count) records with several), at most 1 allowed")
            }
        }
        return out
    }

    /// Every running node compacted its log at least once (its floor is not empty).
    mutating func checkCompacted() {
        for node in snapshots where node.up && node.logFloor.entries.isEmpty {
            fail("\(node.name) never compacted its log (\(node.log.count) changes in it)")
        }
    }

    /// Nodes that left are marked left (or already forgotten) by every running node.
    mutating func checkLeftNodes() {
        for node in snapshots where node.up {
            for left in snapshots where left.hasLeft {
                if let status = node.membership[left.name] ?? nil, status != .left {
                    fail("\(node.name) sees \(left.name), which left, as \(status.rawValue)")
                }
            }
        }
    }

    // MARK: - Membership

    /// Every running node sees every other node alive.
    mutating func checkMembership() {
        for node in snapshots where node.up {
            for other in snapshots where other.name != node.name && other.up {
                let status = node.membership[other.name] ?? nil
                if status != .alive { fail("membership: \(node.name) sees \(other.name) as \(status.map(\.rawValue) ?? "unknown")") }
            }
        }
    }
}
