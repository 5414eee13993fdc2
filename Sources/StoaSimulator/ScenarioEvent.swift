/// A timed fault of a scenario.
///
/// JSON: an object with `at` (seconds since the start) and `type`:
/// - `{"type": "partition", "groups": [["n1", "n2"], ["n3"]]}` — cut every link between
///   different groups, both ways; nodes in no group form one more group together;
/// - `{"type": "heal"}` — remove every cut (partitions, blocks, flaps);
/// - `{"type": "block", "from": ["n1"], "to": ["n2", "n3"]}` — one-way: messages from `from`
///   to `to` are lost, the other direction still works; `unblock` with the same fields undoes it;
/// - `{"type": "flap", "from": ["n1"], "to": ["n3"], "periodSeconds": 2, "untilSeconds": 40,
///   "oneWay": false}` — the links go down and up again every half period (each half drawn
///   in 0.5–1.5 times its length from the run's seed) until `untilSeconds`, ending up;
/// - `{"type": "crash", "node": "n2"}` / `{"type": "restart", "node": "n2"}` — the node loses
///   its in-memory protocol state and comes back with fresh SWIM and replication machines at
///   incarnation 0; its database is kept;
/// - `{"type": "clockJump", "node": "n2", "bySeconds": -30}` — the node's wall clock jumps;
/// - `{"type": "join", "node": "n4"}` — the node starts for the first time, with an empty
///   database (until then it has never run: a new member joining a running cluster);
/// - `{"type": "leave", "node": "n3"}` — the node leaves the cluster gracefully (announces it,
///   then stops for good; its data no longer counts).
public struct ScenarioEvent: Sendable, Equatable, Decodable {
    public enum Action: Sendable, Equatable {
        case partition([[String]])
        case heal
        case block(from: [String], to: [String])
        case unblock(from: [String], to: [String])
        case flap(from: [String], to: [String], periodMillis: UInt64, untilMillis: UInt64, oneWay: Bool)
        case crash(String)
        case restart(String)
        case clockJump(node: String, byMillis: Int64)
        case join(String)
        case leave(String)
    }

    public var atMillis: UInt64
    public var action: Action

    public init(atMillis: UInt64, action: Action) {
        self.atMillis = atMillis
        self.action = action
    }

    /// The last instant this event changes anything (a flap's end, otherwise its start).
    public var lastEffectMillis: UInt64 {
        if case .flap(_, _, _, let until, _) = action { return until }
        return atMillis
    }

    /// The node names the event mentions.
    var mentionedNodes: [String] {
        switch action {
        case .partition(let groups): return groups.flatMap { $0 }
        case .heal: return []
        case .block(let from, let to), .unblock(let from, let to), .flap(let from, let to, _, _, _): return from + to
        case .crash(let node), .restart(let node), .clockJump(let node, _), .join(let node), .leave(let node): return [node]
        }
    }

    private enum CodingKeys: String, CodingKey {
        case at, type, groups, from, to, node, bySeconds, periodSeconds, untilSeconds, oneWay
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let at = try container.decode(Double.self, forKey: .at)
        guard at >= 0, at < 1e6 else { throw ScenarioError("events: `at` must be in 0..<1000000 seconds") }
        atMillis = Self.millis(at)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "partition":
            let groups = try container.decode([[String]].self, forKey: .groups)
            guard !groups.isEmpty else { throw ScenarioError("events: a partition needs groups") }
            action = .partition(groups)
        case "heal":
            action = .heal
        case "block", "unblock":
            let from = try container.decode([String].self, forKey: .from)
            let to = try container.decode([String].self, forKey: .to)
            action = type == "block" ? .block(from: from, to: to) : .unblock(from: from, to: to)
        case "flap":
            let period = try container.decode(Double.self, forKey: .periodSeconds)
            let until = try container.decode(Double.self, forKey: .untilSeconds)
            guard period > 0, until > at, until < 1e6 else { throw ScenarioError("events: a flap needs periodSeconds > 0 and untilSeconds after at") }
            action = .flap(
                from: try container.decode([String].self, forKey: .from), to: try container.decode([String].self, forKey: .to),
                periodMillis: max(2, Self.millis(period)), untilMillis: Self.millis(until),
                oneWay: try container.decodeIfPresent(Bool.self, forKey: .oneWay) ?? false
            )
        case "crash":
            action = .crash(try container.decode(String.self, forKey: .node))
        case "restart":
            action = .restart(try container.decode(String.self, forKey: .node))
        case "join":
            action = .join(try container.decode(String.self, forKey: .node))
        case "leave":
            action = .leave(try container.decode(String.self, forKey: .node))
        case "clockJump":
            let seconds = try container.decode(Double.self, forKey: .bySeconds)
            guard seconds.isFinite, abs(seconds) < 1e8 else { throw ScenarioError("events: bySeconds out of range") }
            action = .clockJump(node: try container.decode(String.self, forKey: .node), byMillis: Int64((seconds * 1000).rounded()))
        default:
            throw ScenarioError("events: unknown type \"\(type)\" (partition, heal, block, unblock, flap, crash, restart, clockJump, join, leave)")
        }
    }

    private static func millis(_ seconds: Double) -> UInt64 { UInt64((seconds * 1000).rounded()) }
}
