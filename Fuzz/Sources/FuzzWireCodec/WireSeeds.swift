import StoaCore
import StoaGossip

/// Canonical encodings of the messages nodes send: SWIM pings, acks and indirect probes carrying
/// claims (among them claims about the fuzz target's own member, which it must refute), vectors,
/// and change batches whose deltas come from creates, updates, tag edits, deletes and restores.
enum WireSeeds {
    static func all() -> [(name: String, bytes: [UInt8])] {
        let me = WireCodecTarget.myself
        let peer = MemberID(name: "n2", host: "127.0.0.1", port: 7947)
        let other = MemberID(name: "n3", host: "::1", port: 7948)
        let claims = [
            MemberUpdate(id: other, status: .alive, incarnation: 3, meta: "http://[::1]:8093"),
            MemberUpdate(id: me, status: .suspect, incarnation: 0, meta: "", accuser: "n2"),
            MemberUpdate(id: other, status: .dead, incarnation: 4, meta: "", accuser: "n2"),
        ]
        let envelopes: [(String, SWIMMessage)] = [
            ("ping", .ping(sequence: 1, gossip: [])),
            ("ping-gossip", .ping(sequence: 7, gossip: claims)),
            ("ping-request", .pingRequest(sequence: 2, target: other, gossip: [claims[0]])),
            ("ack", .ack(sequence: 1, target: peer, gossip: [claims[1]])),
            ("nack", .nack(sequence: 3, target: other, gossip: [])),
        ]
        var seeds: [(name: String, bytes: [UInt8])] = envelopes.map { name, message in
            ("swim-" + name, WireCodec.encode(.swim(SWIMEnvelope(from: peer, fromMeta: "http://127.0.0.1:8092", fromIncarnation: 2, message: message))))
        }

        var vector = VersionVector()
        for seq: UInt64 in [1, 2, 3, 7, 9] { vector.insert(origin: "n2", seq: seq) }
        vector.insert(origin: "n3-abcdefgh", seq: 1)
        seeds.append(("vector", WireCodec.encode(.vector(from: "n2", vector))))
        seeds.append(("vector-empty", WireCodec.encode(.vector(from: "n2", VersionVector()))))

        let stamp = Stamp(hlc: HLCTimestamp(millis: 1_764_000_000_000, counter: 0), node: "n2")
        let later = Stamp(hlc: HLCTimestamp(millis: 1_764_000_000_500, counter: 3), node: "n3")
        let create = RecordState.createDelta(
            fields: ["content": .string("Ça ira"), "author": .string("Seneca"), "userId": .string("fuzzowner000001"), "n": .number(1.5), "ok": .bool(true), "none": .null],
            tags: ["stoic", "b"], stamp: stamp, over: RecordState()
        )
        let update = RecordState.updateDelta(fields: ["notes": .string("x")], tagEdit: .modify(add: ["c"], remove: ["b"]), stamp: later, over: create)
        let delete = RecordState.deleteDelta(stamp: later, over: create)
        let restore = RecordState.restoreDelta(stamp: Stamp(hlc: HLCTimestamp(millis: 1_764_000_001_000, counter: 0), node: "n2"), over: create.merged(delete))
        let changes = [
            Change(origin: "n2", seq: 1, collection: "quotes", recordID: "aaaaaaaaaaaaaa1", delta: create),
            Change(origin: "n3", seq: 1, collection: "quotes", recordID: "aaaaaaaaaaaaaa1", delta: update),
            Change(origin: "n3", seq: 2, collection: "quotes", recordID: "aaaaaaaaaaaaaa1", delta: delete),
            Change(origin: "n2", seq: 2, collection: "quotes", recordID: "aaaaaaaaaaaaaa1", delta: restore),
        ]
        seeds.append(("changes", WireCodec.encode(.changes(from: "n2", changes, vector: vector))))
        seeds.append(("changes-one", WireCodec.encode(.changes(from: "n2", [changes[0]], vector: nil))))
        seeds.append(("hello", WireCodec.encode(.hello(from: "n2"))))
        let edit = CacheInvalidation(user: "users/abc", writer: "users/abc", collection: "quotes", recordID: "q1", everyRecord: false, node: "n2")
        let sync = CacheInvalidation(user: "", writer: "address 10.0.0.7", collection: "quotes", recordID: nil, everyRecord: true, node: "")
        seeds.append(("cache-notice", WireCodec.encode(.cacheNotice(from: "g2", CacheNotice(epoch: 2, sequence: 1, invalidations: [edit, sync])))))
        seeds.append(("cache-beat", WireCodec.encode(.cacheNotice(from: "g2", CacheNotice(epoch: 2, sequence: 3, invalidations: [])))))
        seeds.append(("cache-ack", WireCodec.encode(.cacheAck(from: "g2", epoch: 1, sequence: 1))))
        return seeds
    }
}
