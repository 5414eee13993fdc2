import StoaCore

/// Generates random replica histories: several nodes each make local writes over their current
/// view, and the deltas are what a property test merges in different orders.
struct CRDTGenerator {
    var rng: SplitMix64
    let nodes = ["n1", "n2", "n3"]
    let fieldNames = ["content", "author", "notes"]
    let tagPool = ["stoic", "seneca", "death", "time", "virtue"]

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func value() -> FieldValue {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(Double(Int.random(in: -5...5, using: &rng)))
        default: return .string(tagPool.randomElement(using: &rng) ?? "")
        }
    }

    mutating func stamp(_ clock: inout UInt64, node: String) -> Stamp {
        // Small clock range so equal HLCs on different nodes (tie-breaks) happen often.
        clock += UInt64(Int.random(in: 1...2, using: &rng))  // a node never reuses a stamp
        return Stamp(hlc: HLCTimestamp(millis: clock, counter: 0), node: node)
    }

    /// `count` deltas written by random nodes, each over that node's current (partial) view.
    mutating func deltas(count: Int) -> [RecordState] {
        var views = Dictionary(uniqueKeysWithValues: nodes.map { ($0, RecordState()) })
        var clocks = Dictionary(uniqueKeysWithValues: nodes.map { ($0, UInt64(1)) })
        var out: [RecordState] = []
        for _ in 0..<count {
            let node = nodes.randomElement(using: &rng) ?? "n1"
            let current = views[node] ?? RecordState()
            var clock = clocks[node] ?? 1
            let stamp = stamp(&clock, node: node)
            clocks[node] = clock
            let delta: RecordState
            switch Int.random(in: 0..<5, using: &rng) {
            case 0:
                delta = .createDelta(fields: [fieldNames[0]: value()], tags: randomTags(), stamp: stamp, over: current)
            case 1:
                delta = .deleteDelta(stamp: stamp, over: current)
            case 2:
                delta = .restoreDelta(stamp: stamp, over: current)
            default:
                let name = fieldNames.randomElement(using: &rng) ?? "content"
                delta = .updateDelta(fields: [name: value()], tags: Bool.random(using: &rng) ? randomTags() : nil, stamp: stamp, over: current)
            }
            out.append(delta)
            views[node] = current.merged(delta)
            // Sometimes a node learns another node's view (partial sync).
            if Int.random(in: 0..<3, using: &rng) == 0, let other = nodes.randomElement(using: &rng), let theirs = views[other] {
                views[node] = views[node]?.merged(theirs)
            }
        }
        return out
    }

    mutating func randomTags() -> [String] {
        tagPool.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
    }

    mutating func shuffled<T>(_ items: [T]) -> [T] { items.shuffled(using: &rng) }
}

func mergeAll(_ states: [RecordState]) -> RecordState {
    states.reduce(into: RecordState()) { $0.merge($1) }
}
