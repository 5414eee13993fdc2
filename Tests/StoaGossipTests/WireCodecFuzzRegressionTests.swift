import Foundation
import StoaCore
import Testing
@testable import StoaGossip

/// Inputs `Fuzz/Sources/FuzzWireCodec` found (minimized with `-minimize_crash=1`), kept so the
/// bugs they showed stay fixed. See README, "Fuzzing".
@Suite("Wire codec: fuzzing regressions")
struct WireCodecFuzzRegressionTests {
    /// A peer's change whose causal length was `UInt64.max`: the node merged it, and the owner's
    /// next delete of the record trapped in `CausalLength.deleted()` (`value + 1`), on every node
    /// the change had reached.
    @Test("a change whose causal length a local delete would overflow is rejected")
    func causalLengthOverflow() throws {
        let found: [UInt8] = [
            0x01, 0x03, 0x02, 0x6e, 0x32, 0x04, 0x02, 0x6e, 0x32, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02,
            0x6e, 0x32, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        #expect(throws: WireCodecError.self) { try WireCodec.decode(found) }
        for value in [CausalLength.maxValue + 1, UInt64.max - 1, UInt64.max] {
            let delta = RecordState(length: CausalLength(value: value))
            let change = Change(origin: "n2", seq: 1, collection: "quotes", recordID: "aaaaaaaaaaaaaa1", delta: delta)
            #expect(throws: WireCodecError.self) { try WireCodec.decode(WireCodec.encode(.changes(from: "n2", [change], vector: nil))) }
            #expect(throws: WireCodecError.self) { try RecordStateCodec.decode(RecordStateCodec.encode(delta)) }
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(CausalLength.self, from: Data(String(value).utf8)) }
        }
        // The largest length accepted can still be deleted and restored.
        let top = try RecordStateCodec.decode(RecordStateCodec.encode(RecordState(length: CausalLength(value: CausalLength.maxValue))))
        let stamp = Stamp(hlc: HLCTimestamp(millis: 1_764_000_000_000, counter: 0), node: "n1")
        let deleted = top.merged(.deleteDelta(stamp: stamp, over: top))
        #expect(!deleted.isLive)
        #expect(deleted.merged(.restoreDelta(stamp: stamp, over: deleted)).isLive)
    }

    /// A peer's claim that this member is alive at incarnation `UInt64.max`: refuting it
    /// (`incarnation = claim + 1` in `SWIMInstance.applyAboutMyself`) trapped, so one datagram per
    /// member could stop every node of the cluster.
    @Test("a claim whose incarnation a refutation would overflow is rejected")
    func incarnationOverflow() {
        // A ping from "" at 0.0.0.0:0 carrying `alive fuzz@127.0.0.1:7946 incarnation UInt64.max`.
        let found: [UInt8] = [
            0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07, 0x03, 0x00, 0x00, 0x01, 0x02, 0x01, 0x00, 0x00, 0x04, 0x66, 0x75,
            0x7a, 0x7a, 0x09, 0x31, 0x32, 0x37, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0x94, 0x7c, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x01, 0x02, 0x00, 0x00,
        ]
        #expect(throws: WireCodecError.self) { try WireCodec.decode(found) }
        let me = MemberID(name: "n1", host: "127.0.0.1", port: 7946)
        let peer = MemberID(name: "n2", host: "127.0.0.1", port: 7947)
        for incarnation in [MemberUpdate.maxIncarnation + 1, UInt64.max] {
            for status in [MemberStatus.alive, .suspect, .dead] {
                let claim = MemberUpdate(id: me, status: status, incarnation: incarnation, meta: "")
                let envelope = SWIMEnvelope(from: peer, fromMeta: "", fromIncarnation: 0, message: .ping(sequence: 1, gossip: [claim]))
                #expect(throws: WireCodecError.self) { try WireCodec.decode(WireCodec.encode(.swim(envelope))) }
            }
            let sender = SWIMEnvelope(from: peer, fromMeta: "", fromIncarnation: incarnation, message: .ping(sequence: 1, gossip: []))
            #expect(throws: WireCodecError.self) { try WireCodec.decode(WireCodec.encode(.swim(sender))) }
        }
        // The largest incarnation accepted is refuted without trapping.
        let claim = MemberUpdate(id: me, status: .suspect, incarnation: MemberUpdate.maxIncarnation, meta: "")
        let envelope = SWIMEnvelope(from: peer, fromMeta: "", fromIncarnation: 0, message: .ping(sequence: 1, gossip: [claim]))
        guard case .swim(let decoded)? = try? WireCodec.decode(WireCodec.encode(.swim(envelope))) else {
            Issue.record("the largest incarnation was rejected")
            return
        }
        var instance = SWIMInstance(myself: me, meta: "", seeds: [])
        var rng = SplitMix64(seed: 1)
        _ = instance.onMessage(decoded, now: 1_000, rng: &rng)
        #expect(instance.incarnation == MemberUpdate.maxIncarnation + 1)
    }

    /// Issue 18 item 1 as a peer can send it (the lead's fix on main makes the decoder check
    /// vectors; this test fails on a branch without it): an entry whose extra numbers lie at or
    /// below its contiguous mark, which made `VersionVector.merge` depend on operand order.
    @Test("a version vector entry not in canonical form is rejected")
    func nonCanonicalVector() {
        // {"n2": contiguous 108, extra [7, 9]}, {"n3-abcdefgh": contiguous 1}
        let found: [UInt8] = [
            0x01, 0x02, 0x02, 0x6e, 0x32, 0x02, 0x02, 0x6e, 0x32, 0x6c, 0x02, 0x07, 0x02, 0x0b, 0x6e, 0x33, 0x2d, 0x61, 0x62, 0x63,
            0x64, 0x65, 0x66, 0x67, 0x68, 0x01, 0x00,
        ]
        #expect(throws: WireCodecError.self) { try WireCodec.decode(found) }
    }
}
