import StoaCore
@testable import StoaGossip

/// Seeded generators of wire messages: every run with the same seed builds the same values.
struct WireGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    // MARK: - Primitives

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }

    mutating func chance(_ percent: Int) -> Bool { int(1...100) <= percent }

    /// Small, huge and boundary values alike.
    mutating func uint64() -> UInt64 {
        switch int(0...5) {
        case 0: return UInt64(int(0...3))
        case 1: return UInt64(int(0...300))
        case 2: return [UInt64.max, UInt64.max - 1, 1 << 63, (1 << 63) - 1, 1 << 56, 127, 128, 16_383, 16_384].randomElement(using: &rng) ?? 0
        default: return rng.next() >> UInt64(int(0...63))
        }
    }

    mutating func string(maxLength: Int = 12, nul: Bool = true) -> String {
        let pieces = ["a", "z", "0", " ", "é", "e\u{301}", "日本", "🙂", nul ? "\u{0}" : "\u{1}", "\"", "\\", "ß", "q", "Ω"]
        var text = ""
        for _ in 0..<int(0...maxLength) {
            text += pieces.randomElement(using: &rng) ?? "a"
        }
        return text
    }

    /// A string for a record's texts (field names and values, tags): never U+0000, which the
    /// codec refuses there (issue 19).
    mutating func text(maxLength: Int = 12) -> String { string(maxLength: maxLength, nul: false) }

    mutating func name() -> String { "n\(int(1...9))" }

    mutating func double() -> Double {
        switch int(0...6) {
        case 0: return [0.0, -0.0, 1.0, -1.5, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 3.141_592_653_589_793].randomElement(using: &rng) ?? 0
        case 1: return Double(int(-1000...1000))
        default: return Double(bitPattern: rng.next() & ~(0x7FF0_0000_0000_0000)) * Double(int(1...1_000_000))
        }
    }

    // MARK: - Membership

    mutating func memberID() -> MemberID {
        MemberID(name: name(), host: chance(80) ? "10.0.0.\(int(1...254))" : string(), port: chance(90) ? int(1...65_535) : int(Int.min...Int.max))
    }

    mutating func status() -> MemberStatus { [.alive, .suspect, .dead][int(0...2)] }

    mutating func update() -> MemberUpdate {
        MemberUpdate(id: memberID(), status: status(), incarnation: min(uint64(), MemberUpdate.maxIncarnation), meta: chance(50) ? "" : "http://\(string())", accuser: chance(50) ? nil : string())
    }

    mutating func gossip() -> [MemberUpdate] { (0..<int(0...8)).map { _ in update() } }

    mutating func envelope() -> SWIMEnvelope {
        let message: SWIMMessage
        switch int(0...3) {
        case 0: message = .ping(sequence: uint64(), gossip: gossip())
        case 1: message = .pingRequest(sequence: uint64(), target: memberID(), gossip: gossip())
        case 2: message = .ack(sequence: uint64(), target: memberID(), gossip: gossip())
        default: message = .nack(sequence: uint64(), target: memberID(), gossip: gossip())
        }
        return SWIMEnvelope(from: memberID(), fromMeta: string(), fromIncarnation: min(uint64(), MemberUpdate.maxIncarnation), message: message)
    }

    // MARK: - Replication

    mutating func vector() -> VersionVector {
        var entries: [String: VersionVector.Entry] = [:]
        for _ in 0..<int(0...4) {
            // Valid vectors only: every number at most maxSeq, extras above contiguous + 1
            // (the decoder refuses anything else; WireCodecTests checks that separately).
            let contiguous = chance(20) ? min(uint64(), VersionVector.maxSeq - 1000) : UInt64(int(0...1000))
            var extra = Set<UInt64>()
            for _ in 0..<int(0...6) {
                let far = uint64() % VersionVector.maxSeq + 1
                extra.insert(chance(20) && far > contiguous + 1 ? far : contiguous + UInt64(int(2...500)))
            }
            entries[chance(80) ? name() : string()] = VersionVector.Entry(contiguous: contiguous, extra: extra)
        }
        return VersionVector(entries: entries)
    }

    mutating func stamp(from pool: [Stamp]) -> Stamp {
        pool.randomElement(using: &rng) ?? .zero
    }

    mutating func fieldValue() -> FieldValue {
        switch int(0...5) {
        case 0: return .null
        case 1: return .bool(chance(50))
        case 2: return .number(double())
        case 3: return .string(text(maxLength: 40))
        case 4: return .strings((0..<int(0...5)).map { _ in text() })
        default: return .bool(true)
        }
    }

    mutating func recordState() -> RecordState {
        // Few distinct stamps, reused, as real deltas do; one may be huge.
        let pool = (0..<int(1...4)).map { _ in Stamp(hlc: HLCTimestamp(rawValue: uint64()), node: name()) }
        var fields: [String: LWWRegister<FieldValue>] = [:]
        for _ in 0..<int(0...7) {
            fields[text(maxLength: 8)] = LWWRegister(value: fieldValue(), stamp: stamp(from: pool))
        }
        var entries: [String: AddWinsSet.Entry] = [:]
        for _ in 0..<int(0...4) {
            let adds = Set((0..<int(0...3)).map { _ in stamp(from: pool) })
            let removes = Set(adds.sorted().filter { _ in chance(40) })
            entries[text(maxLength: 6)] = AddWinsSet.Entry(adds: adds, removes: removes)
        }
        return RecordState(
            fields: fields, tags: AddWinsSet(entries: entries), length: CausalLength(value: min(uint64(), CausalLength.maxValue)),
            lengthStamp: stamp(from: pool), touched: stamp(from: pool)
        )
    }

    mutating func change() -> Change {
        Change(origin: name(), seq: uint64() % VersionVector.maxSeq + 1, collection: chance(50) ? "quotes" : "users", recordID: string(maxLength: 15), delta: recordState())
    }

    // MARK: - Messages

    mutating func message() -> WireMessage {
        switch int(0...3) {
        case 0: return .swim(envelope())
        case 1: return .vector(from: name(), vector())
        case 2: return .hello(from: name())
        default: return .changes(from: name(), (0..<int(0...5)).map { _ in change() }, vector: chance(50) ? vector() : nil)
        }
    }
}
