import Testing
import Foundation
import StoaCore

@Suite("RecordState merge is a join-semilattice")
struct RecordStateMergeTests {
    static let seeds: [UInt64] = Array(1...200)

    @Test("commutative", arguments: seeds)
    func commutative(seed: UInt64) {
        var gen = CRDTGenerator(seed: seed)
        let deltas = gen.deltas(count: 12)
        let a = mergeAll(Array(deltas.prefix(6)))
        let b = mergeAll(Array(deltas.suffix(6)))
        #expect(a.merged(b) == b.merged(a))
    }

    @Test("associative", arguments: seeds)
    func associative(seed: UInt64) {
        var gen = CRDTGenerator(seed: seed)
        let deltas = gen.deltas(count: 12)
        let a = mergeAll(Array(deltas[0..<4]))
        let b = mergeAll(Array(deltas[4..<8]))
        let c = mergeAll(Array(deltas[8..<12]))
        #expect(a.merged(b).merged(c) == a.merged(b.merged(c)))
    }

    @Test("idempotent", arguments: seeds)
    func idempotent(seed: UInt64) {
        var gen = CRDTGenerator(seed: seed)
        let state = mergeAll(gen.deltas(count: 10))
        #expect(state.merged(state) == state)
    }

    @Test("any delivery order, with duplicates, gives the same state", arguments: seeds)
    func orderIndependent(seed: UInt64) {
        var gen = CRDTGenerator(seed: seed)
        let deltas = gen.deltas(count: 15)
        let reference = mergeAll(deltas)
        for _ in 0..<5 {
            let duplicated = deltas + deltas.prefix(Int.random(in: 0...deltas.count, using: &gen.rng))
            #expect(mergeAll(gen.shuffled(duplicated)) == reference)
        }
    }

    @Test("a delete and a concurrent restore resolve the same in every order")
    func deleteRestoreRace() {
        let n1 = { (t: UInt64) in Stamp(hlc: HLCTimestamp(millis: t, counter: 0), node: "n1") }
        let n2 = { (t: UInt64) in Stamp(hlc: HLCTimestamp(millis: t, counter: 0), node: "n2") }
        let created = RecordState.createDelta(fields: ["content": .string("x")], tags: [], stamp: n1(1), over: RecordState())
        let deleted = created.merged(.deleteDelta(stamp: n1(2), over: created))
        // Both replicas see the delete; n1 restores, n2 deletes again (a no-op) and edits.
        let restore = RecordState.restoreDelta(stamp: n1(3), over: deleted)
        let edit = RecordState.updateDelta(fields: ["content": .string("y")], tags: nil, stamp: n2(3), over: deleted)
        // Meanwhile, from the *live* state, n2 deletes concurrently with n1's first delete.
        let concurrentDelete = RecordState.deleteDelta(stamp: n2(2), over: created)
        let parts = [created, RecordState.deleteDelta(stamp: n1(2), over: created), restore, edit, concurrentDelete]
        let expected = mergeAll(parts)
        #expect(expected.isLive, "restore (length 3) beats both deletes (length 2)")
        #expect(expected["content"] == .string("y"))
        for permutation in permutations(parts) {
            #expect(mergeAll(permutation) == expected)
        }
    }

    @Test("concurrent tag additions on two replicas both survive; add wins over concurrent remove")
    func tagsAddWins() {
        let s1 = Stamp(hlc: HLCTimestamp(millis: 1, counter: 0), node: "n1")
        let base = RecordState.createDelta(fields: [:], tags: ["a"], stamp: s1, over: RecordState())
        let addB = RecordState.updateDelta(fields: [:], tags: ["a", "b"], stamp: Stamp(hlc: HLCTimestamp(millis: 2, counter: 0), node: "n1"), over: base)
        let addC = RecordState.updateDelta(fields: [:], tags: ["a", "c"], stamp: Stamp(hlc: HLCTimestamp(millis: 2, counter: 0), node: "n2"), over: base)
        #expect(mergeAll([base, addB, addC]).tags.elements == ["a", "b", "c"])

        // n1 removes "a" while n2 re-adds "a" concurrently (a fresh add tag): "a" stays.
        let removeA = RecordState.updateDelta(fields: [:], tags: [], stamp: Stamp(hlc: HLCTimestamp(millis: 3, counter: 0), node: "n1"), over: base)
        var n2View = base
        n2View.merge(RecordState.updateDelta(fields: [:], tags: [], stamp: Stamp(hlc: HLCTimestamp(millis: 3, counter: 0), node: "n2"), over: base))
        let readdA = RecordState.updateDelta(fields: [:], tags: ["a"], stamp: Stamp(hlc: HLCTimestamp(millis: 4, counter: 0), node: "n2"), over: n2View)
        #expect(mergeAll([base, removeA, readdA]).tags.elements == ["a"])
        #expect(mergeAll([base, removeA]).tags.elements == [])
    }

    @Test("last writer wins per field, ties broken by node id")
    func lastWriterWins() {
        let t = HLCTimestamp(millis: 5, counter: 0)
        let a = LWWRegister(value: FieldValue.string("from n1"), stamp: Stamp(hlc: t, node: "n1"))
        let b = LWWRegister(value: FieldValue.string("from n2"), stamp: Stamp(hlc: t, node: "n2"))
        #expect(a.merged(b).value == .string("from n2"))
        #expect(b.merged(a).value == .string("from n2"))
        let later = LWWRegister(value: FieldValue.string("later"), stamp: Stamp(hlc: HLCTimestamp(millis: 5, counter: 1), node: "a"))
        #expect(b.merged(later).value == .string("later"))
    }

    @Test("state survives a JSON round trip", arguments: Array(seeds.prefix(30)))
    func codable(seed: UInt64) throws {
        var gen = CRDTGenerator(seed: seed)
        let state = mergeAll(gen.deltas(count: 10))
        let data = try JSONEncoder().encode(state)
        #expect(try JSONDecoder().decode(RecordState.self, from: data) == state)
    }
}

func permutations<T>(_ items: [T]) -> [[T]] {
    guard items.count > 1 else { return [items] }
    var out: [[T]] = []
    for index in items.indices {
        var rest = items
        let head = rest.remove(at: index)
        for tail in permutations(rest) { out.append([head] + tail) }
    }
    return out
}
