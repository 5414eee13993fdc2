import StoaCore
import Testing
@testable import StoaGossip

@Suite("Wire codec")
struct WireCodecTests {
    // MARK: - Round trips

    @Test("generated messages round-trip and encode deterministically", arguments: [1, 2, 3] as [UInt64])
    func roundTrip(seed: UInt64) throws {
        var generator = WireGenerator(seed: seed)
        for _ in 0..<400 {
            let message = generator.message()
            let bytes = WireCodec.encode(message)
            let decoded = try WireCodec.decode(bytes)
            #expect(decoded == message)
            #expect(WireCodec.encode(decoded) == bytes)
        }
    }

    @Test("a change with every field value kind, tags and extreme numbers round-trips")
    func everyFieldValue() throws {
        let a = Stamp(hlc: HLCTimestamp(millis: HLCTimestamp.maxMillis, counter: .max), node: "n1")
        let b = Stamp(hlc: HLCTimestamp(millis: 1_790_000_000_000, counter: 3), node: "n2")
        var tags = AddWinsSet.addDelta("wisdom", stamp: a)
        tags.merge(AddWinsSet(entries: ["stoic": AddWinsSet.Entry(adds: [a, b], removes: [b])]))
        let delta = RecordState(
            fields: [
                "null": LWWRegister(value: .null, stamp: a),
                "yes": LWWRegister(value: .bool(true), stamp: b),
                "no": LWWRegister(value: .bool(false), stamp: b),
                "pi": LWWRegister(value: .number(-3.25e300), stamp: a),
                "content": LWWRegister(value: .string("Tout est là — 日本 🙂"), stamp: a),
                "tags": LWWRegister(value: .strings(["stoic", "wisdom", ""]), stamp: a),
            ],
            tags: tags, length: CausalLength(value: CausalLength.maxValue), lengthStamp: b, touched: a
        )
        let change = Change(origin: "n1", seq: VersionVector.maxSeq, collection: "quotes", recordID: "abcdefghij12345", delta: delta)
        var vector = VersionVector(entries: ["n1": .init(contiguous: VersionVector.maxSeq - 10, extra: [VersionVector.maxSeq, VersionVector.maxSeq - 2])])
        vector.insert(origin: "n2", seq: 1)
        let message = WireMessage.changes(from: "n1", [change, change], vector: vector)
        #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
    }

    @Test("sequence numbers beyond SQLite's integers, seq 0 and non-canonical vectors are refused")
    func outOfRangeNumbers() {
        let delta = RecordState(touched: .zero)
        for seq in [0, VersionVector.maxSeq + 1, UInt64.max] {
            let bytes = WireCodec.encode(.changes(from: "n1", [Change(origin: "n1", seq: seq, collection: "quotes", recordID: "r", delta: delta)], vector: nil))
            #expect(throws: WireCodecError.self) { try WireCodec.decode(bytes) }
        }
        for entry in [
            VersionVector.Entry(contiguous: UInt64.max), VersionVector.Entry(contiguous: 1, extra: [UInt64.max]),
            VersionVector.Entry(contiguous: 5, extra: [6]), VersionVector.Entry(contiguous: 5, extra: [3]),
        ] {
            let bytes = WireCodec.encode(.vector(from: "n1", VersionVector(entries: ["n1": entry])))
            #expect(throws: WireCodecError.self) { try WireCodec.decode(bytes) }
        }
    }

    @Test("NaN and negative zero keep their bit patterns")
    func doubleBits() throws {
        for value in [Double.nan, -Double.nan, Double(bitPattern: 0x7FF0_0000_0000_0001), -0.0] {
            let delta = RecordState(fields: ["x": LWWRegister(value: .number(value), stamp: .zero)])
            let bytes = WireCodec.encode(.changes(from: "n", [Change(origin: "n", seq: 1, collection: "quotes", recordID: "r", delta: delta)], vector: nil))
            guard case .changes(_, let changes, _) = try WireCodec.decode(bytes),
                  case .number(let decoded)? = changes.first?.delta["x"]
            else {
                Issue.record("not decoded as a number")
                continue
            }
            #expect(decoded.bitPattern == value.bitPattern)
        }
    }

    @Test("encodings are compact")
    func compact() {
        let id = MemberID(name: "n1", host: "10.0.0.1", port: 7946)
        let ping = WireCodec.encode(.swim(SWIMEnvelope(from: id, fromMeta: "", fromIncarnation: 0, message: .ping(sequence: 5, gossip: []))))
        #expect(ping.count <= 22)
        // One write stamps every register: the stamp is written once.
        let stamp = Stamp(hlc: HLCTimestamp(millis: 1_790_000_000_000, counter: 0), node: "n1")
        let fields = Dictionary(uniqueKeysWithValues: ["a", "b", "c", "d", "e", "f"].map { ($0, LWWRegister(value: FieldValue.string("x"), stamp: stamp)) })
        let change = Change(origin: "n1", seq: 1, collection: "quotes", recordID: "abcdefghij12345",
                            delta: RecordState(fields: fields, length: .created, lengthStamp: stamp, touched: stamp))
        #expect(WireCodec.encode(.changes(from: "n1", [change], vector: nil)).count < 100)
    }

    @Test("a hello is the version, its tag and the sender's name; sealed it fits far below the 64 KiB a connection may send before it authenticated")
    func hello() throws {
        let bytes = WireCodec.encode(.hello(from: "n1"))
        #expect(bytes == [WireCodec.version, 5, 2] + Array("n1".utf8))
        #expect(try WireCodec.decode(bytes) == .hello(from: "n1"))
        let longest = WireCodec.encode(.hello(from: String(repeating: "n", count: 64)))
        #expect(longest.count + 32 < 128)
        #expect(throws: WireCodecError.self) { try WireCodec.decode(bytes + [0]) }
    }

    // MARK: - Hostile input

    @Test("every truncation of a valid encoding is rejected")
    func truncations() {
        var generator = WireGenerator(seed: 7)
        var checked = 0
        for _ in 0..<60 {
            let bytes = WireCodec.encode(generator.message())
            for length in 0..<bytes.count {
                checked += 1
                #expect(throws: WireCodecError.self) { try WireCodec.decode(Array(bytes[0..<length])) }
            }
        }
        #expect(checked > 1000)
    }

    @Test("trailing bytes, unknown versions and tags are rejected")
    func framing() throws {
        let bytes = WireCodec.encode(.vector(from: "n1", VersionVector()))
        #expect(try WireCodec.decode(bytes) == .vector(from: "n1", VersionVector()))
        #expect(throws: WireCodecError(reason: "trailing bytes")) { try WireCodec.decode(bytes + [0]) }
        var otherVersion = bytes
        otherVersion[0] = 1   // version 1 (before bounded history) is not understood
        #expect(throws: WireCodecError.self) { try WireCodec.decode(otherVersion) }
        var otherTag = bytes
        otherTag[1] = 9
        #expect(throws: WireCodecError.self) { try WireCodec.decode(otherTag) }
        #expect(throws: WireCodecError.self) { try WireCodec.decode([]) }
    }

    @Test("hostile lengths, counts and varints are rejected without allocating")
    func hostileLengths() {
        let version = WireCodec.version
        let cases: [(String, [UInt8])] = [
            ("huge string length", [version, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x61]),
            ("string longer than input", [version, 2, 10, 0x61]),
            ("huge count", [version, 3, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            ("count above cap", [version, 2, 0, 0x80, 0x8D, 0x3E] + Array(repeating: 0, count: 10)),
            ("count above remaining", [version, 2, 0, 5, 0]),
            ("varint too long", [version, 1, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            ("varint overflow", [version, 1, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 1, 0, 0]),
            ("overlong varint", [version, 2, 0x80, 0x00, 0]),
            ("invalid UTF-8", [version, 2, 2, 0xC3, 0x28, 0]),
            ("lone continuation byte", [version, 2, 1, 0x80, 0]),
            ("invalid bool", [version, 3, 0, 0, 7]),
            ("unknown SWIM kind", [version, 1, 0, 0, 0, 0, 0, 9, 0, 0]),
            ("unknown status", [version, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 7, 0, 0, 0]),
            ("origins out of order", [version, 2, 0, 2, 1, 0x62, 0, 0, 1, 0x61, 0, 0]),
            ("duplicate origins", [version, 2, 0, 2, 1, 0x61, 0, 0, 1, 0x61, 0, 0]),
            ("extras not ascending", [version, 2, 0, 1, 1, 0x61, 0, 2, 5, 0]),
        ]
        for (label, bytes) in cases {
            #expect(throws: WireCodecError.self, "\(label)") { try WireCodec.decode(bytes) }
        }
    }

    @Test("random garbage is rejected; whatever decodes is canonical", arguments: [11, 12] as [UInt64])
    func garbage(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var accepted = 0
        for round in 0..<3000 {
            let length = Int.random(in: 0...120, using: &rng)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if round % 2 == 0, bytes.count >= 2 {
                // Valid header, garbage body: exercises the field decoders.
                bytes[0] = WireCodec.version
                bytes[1] = UInt8.random(in: 1...3, using: &rng)
            }
            do {
                let message = try WireCodec.decode(bytes)
                accepted += 1
                #expect(WireCodec.encode(message) == bytes)
            } catch {
                if let first = bytes.first, first != WireCodec.version {
                    #expect(error.reason.hasPrefix("unsupported version"))
                }
            }
        }
        #expect(accepted < 150)
    }

    @Test("mutated valid encodings never crash; whatever decodes is canonical")
    func mutations() {
        var generator = WireGenerator(seed: 21)
        var rng = SplitMix64(seed: 22)
        for _ in 0..<300 {
            var bytes = WireCodec.encode(generator.message())
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0...2, using: &rng) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
                }
                if bytes.isEmpty { break }
            }
            if let message = try? WireCodec.decode(bytes) {
                #expect(WireCodec.encode(message) == bytes)
            }
        }
    }

    @Test("login-failure reports carry 32-byte keys only")
    func loginFailures() throws {
        let message = WireMessage.loginFailures(from: "n1", [Array(repeating: 7, count: 32), Array(repeating: 9, count: 32)])
        #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
        var short = WireCodec.encode(.loginFailures(from: "n1", [Array(repeating: 7, count: 32)]))
        short.removeLast()
        #expect(throws: WireCodecError.self) { try WireCodec.decode(short) }
    }

    @Test("gateways' rate-limit reports round-trip; a truncated one is refused")
    func limitReports() throws {
        let message = WireMessage.limits(from: "g1", [
            LimitReportEntry(policy: "user", key: "abc123def456ghi", count: 3),
            LimitReportEntry(policy: "global", key: "*", count: 1_000_000),
        ])
        #expect(try WireCodec.decode(WireCodec.encode(message)) == message)
        #expect(try WireCodec.decode(WireCodec.encode(.limits(from: "g1", []))) == .limits(from: "g1", []))
        var short = WireCodec.encode(message)
        short.removeLast()
        #expect(throws: WireCodecError.self) { try WireCodec.decode(short) }
    }

    @Test("gateways' cache notices and acks round-trip; a truncated notice is refused")
    func cacheNotices() throws {
        let notice = WireMessage.cacheNotice(from: "g1", CacheNotice(epoch: 0xdead_beef_0000_0001, sequence: 42, invalidations: [
            CacheInvalidation(user: "users/abc", writer: "users/abc", collection: "quotes", recordID: "q1", everyRecord: false, node: "n2"),
            CacheInvalidation(user: "", writer: "address 10.0.0.7", collection: "quotes", recordID: nil, everyRecord: true, node: ""),
        ]))
        #expect(try WireCodec.decode(WireCodec.encode(notice)) == notice)
        let beat = WireMessage.cacheNotice(from: "g2", CacheNotice(epoch: 7, sequence: 0, invalidations: []))
        #expect(try WireCodec.decode(WireCodec.encode(beat)) == beat)
        let ack = WireMessage.cacheAck(from: "g2", epoch: .max, sequence: 42)
        #expect(try WireCodec.decode(WireCodec.encode(ack)) == ack)
        var short = WireCodec.encode(notice)
        short.removeLast()
        #expect(throws: WireCodecError.self) { try WireCodec.decode(short) }
    }
}
