/// The compact binary encoding of a ``RecordState`` (and of a ``FieldValue``): what gossip's
/// `WireCodec` sends inside change messages and what the store keeps on disk.
///
/// Deterministic (equal states give equal bytes) and canonical: stamps, fields and tags are
/// written sorted (strings by UTF-8 bytes) and the decoder accepts only that order. Primitives
/// are those of ``WireWriter``/``WireReader``; decoding never traps on hostile input.
public enum RecordStateCodec {
    /// The whole encoding of `state`.
    public static func encode(_ state: RecordState) -> [UInt8] {
        var writer = WireWriter()
        write(state, into: &writer)
        return writer.bytes
    }

    /// Decodes exactly one state occupying all of `bytes`.
    ///
    /// - Throws: ``WireCodecError`` for anything but a canonical encoding.
    public static func decode(_ bytes: [UInt8]) throws(WireCodecError) -> RecordState {
        var reader = WireReader(bytes)
        let state = try readRecordState(from: &reader)
        try reader.finish()
        return state
    }

    /// Strings order by their UTF-8 bytes: platform-independent and cheap.
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// Stamps order by HLC, then node name bytes.
    static func precedes(_ lhs: Stamp, _ rhs: Stamp) -> Bool {
        if lhs.hlc != rhs.hlc { return lhs.hlc < rhs.hlc }
        return precedes(lhs.node, rhs.node)
    }

    static func requireAscending(_ previous: String?, _ next: String) throws(WireCodecError) {
        if let previous, !precedes(previous, next) {
            throw WireCodecError(reason: "keys not in canonical order")
        }
    }

    // MARK: - Record states

    /// A delta usually repeats one stamp many times (every field, tag and the length of one
    /// write), so a record state starts with a table of its distinct stamps, sorted, and
    /// refers to them by index: fields sorted by name (name, value, stamp index), tags sorted
    /// by element (element, add indices ascending, remove indices ascending), the causal
    /// length, and the indices of the length stamp and of `touched`.
    public static func write(_ state: RecordState, into writer: inout WireWriter) {
        var distinct = Set<Stamp>()
        for register in state.fields.values { distinct.insert(register.stamp) }
        for entry in state.tags.entries.values {
            distinct.formUnion(entry.adds)
            distinct.formUnion(entry.removes)
        }
        distinct.insert(state.lengthStamp)
        distinct.insert(state.touched)
        let table = distinct.sorted { precedes($0, $1) }
        var indexOf: [Stamp: Int] = [:]
        for (index, stamp) in table.enumerated() { indexOf[stamp] = index }

        writer.count(table.count)
        for stamp in table {
            writer.varint(stamp.hlc.rawValue)
            writer.string(stamp.node)
        }
        let fields = state.fields.sorted { precedes($0.key, $1.key) }
        writer.count(fields.count)
        for (name, register) in fields {
            writer.string(name)
            write(register.value, into: &writer)
            writer.count(indexOf[register.stamp] ?? 0)
        }
        let tags = state.tags.entries.sorted { precedes($0.key, $1.key) }
        writer.count(tags.count)
        for (element, entry) in tags {
            writer.string(element)
            writeIndices(entry.adds, indexOf, into: &writer)
            writeIndices(entry.removes, indexOf, into: &writer)
        }
        writer.varint(state.length.value)
        writer.count(indexOf[state.lengthStamp] ?? 0)
        writer.count(indexOf[state.touched] ?? 0)
    }

    private static func writeIndices(_ stamps: Set<Stamp>, _ indexOf: [Stamp: Int], into writer: inout WireWriter) {
        let indices = stamps.map { indexOf[$0] ?? 0 }.sorted()
        writer.count(indices.count)
        for index in indices { writer.count(index) }
    }

    public static func readRecordState(from reader: inout WireReader) throws(WireCodecError) -> RecordState {
        let tableCount = try reader.count()
        var table = StampTable()
        table.stamps.reserveCapacity(tableCount)
        var seen = Set<Stamp>()
        for _ in 0..<tableCount {
            let hlc = HLCTimestamp(rawValue: try reader.varint())
            let stamp = Stamp(hlc: hlc, node: try reader.string())
            if let last = table.stamps.last, !precedes(last, stamp) { throw WireCodecError(reason: "stamps not in canonical order") }
            guard seen.insert(stamp).inserted else { throw WireCodecError(reason: "duplicate stamp") }
            table.stamps.append(stamp)
        }
        table.referenced = Array(repeating: false, count: table.stamps.count)

        let fieldCount = try reader.count()
        var fields: [String: LWWRegister<FieldValue>] = [:]
        var previousName: String?
        for _ in 0..<fieldCount {
            let name = try reader.string()
            try requireAscending(previousName, name)
            previousName = name
            let value = try readFieldValue(from: &reader)
            let stamp = try readStampIndex(&table, from: &reader)
            guard fields.updateValue(LWWRegister(value: value, stamp: stamp), forKey: name) == nil else {
                throw WireCodecError(reason: "duplicate field")
            }
        }

        let tagCount = try reader.count()
        var entries: [String: AddWinsSet.Entry] = [:]
        var previousElement: String?
        for _ in 0..<tagCount {
            let element = try reader.string()
            try requireAscending(previousElement, element)
            previousElement = element
            let adds = try readIndices(&table, from: &reader)
            let removes = try readIndices(&table, from: &reader)
            guard entries.updateValue(AddWinsSet.Entry(adds: adds, removes: removes), forKey: element) == nil else {
                throw WireCodecError(reason: "duplicate tag")
            }
        }

        let length = CausalLength(value: try reader.varint())
        // A later local delete or restore adds one to it: it must not overflow (CausalLength.maxValue).
        guard length.value <= CausalLength.maxValue else { throw WireCodecError(reason: "causal length out of range") }
        let lengthStamp = try readStampIndex(&table, from: &reader)
        let touched = try readStampIndex(&table, from: &reader)
        guard !table.referenced.contains(false) else { throw WireCodecError(reason: "unreferenced stamp") }
        return RecordState(fields: fields, tags: AddWinsSet(entries: entries), length: length, lengthStamp: lengthStamp, touched: touched)
    }

    /// The stamp table of one record state being decoded, remembering which entries were
    /// referenced: the canonical form has no unreferenced stamp.
    private struct StampTable {
        var stamps: [Stamp] = []
        var referenced: [Bool] = []

        mutating func stamp(at index: UInt64) throws(WireCodecError) -> Stamp {
            guard index < UInt64(stamps.count) else { throw WireCodecError(reason: "stamp index out of range") }
            referenced[Int(index)] = true
            return stamps[Int(index)]
        }
    }

    private static func readStampIndex(_ table: inout StampTable, from reader: inout WireReader) throws(WireCodecError) -> Stamp {
        try table.stamp(at: try reader.varint())
    }

    private static func readIndices(_ table: inout StampTable, from reader: inout WireReader) throws(WireCodecError) -> Set<Stamp> {
        let count = try reader.count()
        var stamps = Set<Stamp>()
        stamps.reserveCapacity(count)
        var previous: UInt64?
        for _ in 0..<count {
            let index = try reader.varint()
            if let previous, index <= previous { throw WireCodecError(reason: "stamp indices not ascending") }
            previous = index
            stamps.insert(try table.stamp(at: index))
        }
        return stamps
    }

    // MARK: - Field values

    /// One tag byte: 0 null, 1 false, 2 true, 3 number (8 bytes), 4 string, 5 list of strings.
    public static func write(_ value: FieldValue, into writer: inout WireWriter) {
        switch value {
        case .null:
            writer.byte(0)
        case .bool(let flag):
            writer.byte(flag ? 2 : 1)
        case .number(let number):
            writer.byte(3)
            writer.double(number)
        case .string(let text):
            writer.byte(4)
            writer.string(text)
        case .strings(let list):
            writer.byte(5)
            writer.count(list.count)
            for item in list { writer.string(item) }
        }
    }

    public static func readFieldValue(from reader: inout WireReader) throws(WireCodecError) -> FieldValue {
        switch try reader.byte() {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .number(try reader.double())
        case 4: return .string(try reader.string())
        case 5:
            let count = try reader.count()
            var list: [String] = []
            list.reserveCapacity(count)
            for _ in 0..<count { list.append(try reader.string()) }
            return .strings(list)
        default:
            throw WireCodecError(reason: "unknown field value kind")
        }
    }
}
