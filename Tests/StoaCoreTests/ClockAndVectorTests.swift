import Foundation
import Testing
import StoaCore

@Suite("Hybrid logical clock")
struct HybridLogicalClockTests {
    @Test("local readings strictly increase even when physical time stalls or goes back")
    func monotonic() {
        var clock = HybridLogicalClock()
        var rng = SplitMix64(seed: 7)
        var physical: UInt64 = 1_000
        var last = HLCTimestamp.zero
        for _ in 0..<10_000 {
            physical = UInt64(Int64(physical) + Int64.random(in: -3...3, using: &rng))
            let reading = clock.now(physicalMillis: physical)
            #expect(reading > last)
            last = reading
        }
    }

    @Test("receive moves past the remote reading")
    func receive() throws {
        var clock = HybridLogicalClock()
        _ = clock.now(physicalMillis: 100)
        let remote = HLCTimestamp(millis: 150, counter: 9)
        let after = try clock.receive(remote, physicalMillis: 120)
        #expect(after > remote)
        #expect(clock.now(physicalMillis: 120) > after)
    }

    @Test("a remote reading beyond the drift bound is rejected and leaves the clock alone")
    func driftRejected() {
        var clock = HybridLogicalClock(maxDriftMillis: 60_000)
        let before = clock.now(physicalMillis: 1_000)
        #expect(throws: HybridLogicalClock.DriftExceeded.self) {
            try clock.receive(HLCTimestamp(millis: 1_000 + 60_001, counter: 0), physicalMillis: 1_000)
        }
        #expect(clock.last == before)
        #expect(throws: Never.self) {
            try clock.receive(HLCTimestamp(millis: 1_000 + 60_000, counter: 0), physicalMillis: 1_000)
        }
    }

    @Test("counter overflow carries into milliseconds")
    func overflow() {
        var clock = HybridLogicalClock(last: HLCTimestamp(millis: 10, counter: .max))
        #expect(clock.now(physicalMillis: 5) == HLCTimestamp(millis: 11, counter: 0))
    }
}

@Suite("Version vectors")
struct VersionVectorTests {
    @Test("insert tracks contiguous prefix and gaps")
    func gaps() {
        var vv = VersionVector()
        for seq: UInt64 in [1, 2, 4, 5] { vv.insert(origin: "n1", seq: seq) }
        #expect(vv.entries["n1"] == .init(contiguous: 2, extra: [4, 5]))
        vv.insert(origin: "n1", seq: 3)
        #expect(vv.entries["n1"] == .init(contiguous: 5, extra: []))
        #expect(vv.contains(origin: "n1", seq: 5))
        #expect(!vv.contains(origin: "n1", seq: 6))
    }

    @Test("merge is commutative, associative, idempotent and equals inserting the union", arguments: Array(UInt64(1)...100))
    func mergeLaws(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        func random() -> (VersionVector, Set<UInt64>) {
            var vv = VersionVector()
            var seen = Set<UInt64>()
            for _ in 0..<Int.random(in: 0...20, using: &rng) {
                let seq = UInt64.random(in: 1...25, using: &rng)
                vv.insert(origin: "n1", seq: seq)
                seen.insert(seq)
            }
            return (vv, seen)
        }
        let (a, sa) = random(), (b, sb) = random(), (c, _) = random()
        var ab = a; ab.merge(b)
        var ba = b; ba.merge(a)
        #expect(ab == ba)
        var abc1 = ab; abc1.merge(c)
        var bc = b; bc.merge(c)
        var abc2 = a; abc2.merge(bc)
        #expect(abc1 == abc2)
        var aa = a; aa.merge(a)
        #expect(aa == a)
        var union = VersionVector()
        for seq in sa.union(sb) { union.insert(origin: "n1", seq: seq) }
        #expect(ab == union)
        #expect(ab.dominates(a) && ab.dominates(b))
    }
}

@Suite("Record ids and dates")
struct RecordIDAndDateTests {
    @Test func recordIDs() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<1000 { #expect(RecordID.isValid(RecordID.generate(using: &rng))) }
        for bad in ["", "ABCdefghijklmno", "abc", "abcdefghijklmnop", "abcdefghijklm-o", "abcdefghijklmnó", "abcdefghijklmn\u{0}"] {
            #expect(!RecordID.isValid(bad), "\(bad)")
        }
        #expect(RecordID.isValid("a1b2c3d4e5f6g7h"))
    }

    /// Every character of the alphabet is about equally likely, ids do not repeat, and an id
    /// costs two or three draws from the generator (not one per character).
    @Test func recordIDsAreUniformAndCheap() {
        struct Counting: RandomNumberGenerator {
            var inner = SplitMix64(seed: 11)
            var draws = 0
            mutating func next() -> UInt64 { draws += 1; return inner.next() }
        }
        var rng = Counting()
        var counts: [UInt8: Int] = [:]
        var seen = Set<String>()
        let ids = 2000
        for _ in 0..<ids {
            let id = RecordID.generate(using: &rng)
            seen.insert(id)
            for byte in id.utf8 { counts[byte, default: 0] += 1 }
        }
        #expect(seen.count == ids)
        #expect(counts.count == 36)
        let expected = Double(ids * RecordID.length) / 36
        for (byte, count) in counts {
            #expect(abs(Double(count) - expected) < expected * 0.15, "\(UnicodeScalar(byte)): \(count) of about \(Int(expected))")
        }
        #expect(rng.draws <= ids * 3 && rng.draws >= ids * 2)
    }

    @Test("PocketBase date format matches Foundation for many instants")
    func dates() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var rng = SplitMix64(seed: 11)
        for _ in 0..<2000 {
            let millis = UInt64.random(in: 0...4_102_444_800_000, using: &rng)
            let seconds = formatter.string(from: Date(timeIntervalSince1970: Double(millis / 1000)))
            let fraction = String(millis % 1000 + 1000).dropFirst()
            #expect(PocketBaseDate.format(millis: millis) == "\(seconds).\(fraction)Z")
        }
        #expect(PocketBaseDate.format(millis: 1_795_975_441_858) == "2026-11-29 18:04:01.858Z")
    }
}
