import FuzzSupport
import StoaCore
import StoaGateway
@testable import StoaGossip

/// The checks of the wire-codec target (see main.swift).
enum WireCodecTarget {
    static let myself = MemberID(name: "fuzz", host: "127.0.0.1", port: 7946)
    static let now: UInt64 = 1_764_000_000_000
    /// A gateway's limiter with policies of every scope, for `limits` reports.
    static let limiter = RateLimiter(policies: ["user:user:all:100:100", "ip:ip:all:0.5:2", "global:global:writes:1000000:1000"].map { try! RateLimitPolicy(parsing: $0) })

    static func check(_ message: WireMessage, bytes: [UInt8]) {
        let encoded = WireCodec.encode(message)
        fuzzCheck(encoded == bytes, "a decoded message is not in canonical form (it encodes to other bytes)")
        guard let again = try? WireCodec.decode(encoded) else { fatalError("an encoded message does not decode") }
        // Compared by encoding: a field value may be a NaN, which is never equal to itself.
        fuzzCheck(again == message || WireCodec.encode(again) == encoded, "a message changes through encode and decode")

        var rng = SplitMix64(seed: 18)
        switch message {
        case .swim(let envelope):
            var instance = SWIMInstance(myself: myself, meta: "http://127.0.0.1:8090", seeds: [])
            _ = instance.onMessage(envelope, now: now, rng: &rng)
            _ = instance.onMessage(envelope, now: now + 10, rng: &rng)
            for step in 1...4 { _ = instance.onTick(now: now + UInt64(step) * 300, rng: &rng) }
            _ = instance.members
            _ = instance.liveCount
            fuzzCheck(instance.liveCount >= 1, "a SWIM instance lost itself")
        case .vector(let from, let vector):
            checkVector(vector, from: from)
        case .changes(let from, let changes, let vector):
            if let vector { checkVector(vector, from: from) }
            var states: [String: RecordState] = [:]
            for change in changes {
                let key = change.collection + "/" + change.recordID
                let current = states[key] ?? RecordState()
                let merged = current.merged(change.delta)
                fuzzCheck(same(merged.merged(change.delta), merged), "merging a delta twice changes the state")
                // (Not commutativity: two deltas with one stamp and different values, which no
                // honest node makes, merge in arrival order.)
                states[key] = merged
                checkState(merged)
            }
        case .snapshot(let from, let batch):
            checkVector(batch.floor, from: from)
            for record in batch.records { checkState(record.state) }
        case .hello:
            // Only the sender's name: the transport checks nothing else in it.
            break
        case .loginFailures(_, let keys):
            // The decoder admits 32-byte keys only.
            precondition(keys.allSatisfy { $0.count == 32 }, "a login-failure key is not 32 bytes")
        case .limits(_, let entries):
            // What a gateway does with another's report: charge it, then decide requests.
            var limiter = limiter
            limiter.absorb(entries, now: now)
            for entry in entries.prefix(8) {
                _ = limiter.decide(RateLimitRequest(user: entry.key, clientKey: entry.key, isWrite: false), now: now)
                _ = limiter.decide(RateLimitRequest(user: entry.key, clientKey: entry.key, isWrite: true), now: now &+ 1_000_000)
            }
            limiter.absorb(entries, now: now &+ 2_000_000)
            _ = limiter.takeReport()
        case .cacheNotice(let from, let notice):
            // What a gateway does with another's notice: apply, track the sequence, beat on.
            var exchange = CacheInvalidationExchange(epoch: 1)
            _ = exchange.setPeers([from], now: now)
            for step in 0..<3 {
                let at = now &+ UInt64(step) * 20_000_000
                let directives = exchange.received(notice, from: from, now: at)
                fuzzCheck(notice.invalidations.isEmpty || directives.contains(.ack(epoch: notice.epoch, sequence: notice.sequence, to: from)),
                          "a notice with invalidations is not acknowledged")
                fuzzCheck(exchange.leaseUntil == 0 || exchange.leaseUntil > at, "a lease that ended before it was renewed")
            }
            _ = exchange.tick(now: now &+ 1_000_000_000)
            _ = exchange.received(CacheNotice(epoch: notice.epoch, sequence: notice.sequence &+ 1, invalidations: []), from: from, now: now &+ 1_100_000_000)
            _ = exchange.tick(now: now &+ 2_000_000_000)
        case .cacheAck(let from, let epoch, let sequence):
            var exchange = CacheInvalidationExchange(epoch: epoch)
            _ = exchange.setPeers([from], now: now)
            _ = exchange.received(CacheNotice(epoch: 2, sequence: 0, invalidations: []), from: from, now: now)
            let (written, _) = exchange.wrote([], now: now)
            let directives = exchange.acknowledged(epoch: epoch, sequence: sequence, by: from, now: now &+ 1)
            fuzzCheck(directives == (sequence == written ? [.resolved(written)] : []), "an acknowledgement resolved the wrong write")
        }
    }

    /// What a node does with a peer's vector: remember it, compare and merge it with its own.
    static func checkVector(_ vector: VersionVector, from peer: String) {
        var machine = ReplicationMachine(myself: "fuzz")
        _ = machine.onPeerStatus(peer, alive: true, now: now)
        machine.onPeerVector(peer, vector: vector, now: now)
        _ = machine.lag(of: peer, localMaxSeq: 10)
        var own = VersionVector()
        for seq: UInt64 in [1, 2, 3, 5, 8] { own.insert(origin: "fuzz", seq: seq) }
        let merged = own.merged(vector)
        fuzzCheck(merged.dominates(own) && merged.dominates(vector), "a merge does not dominate its inputs")
        fuzzCheck(merged == vector.merged(own), "merge is not commutative")
        _ = own.dominates(vector)
        for (origin, entry) in vector.entries {
            _ = vector.prefix(through: origin, seq: entry.maximum)
            _ = own.prefix(through: origin, seq: entry.contiguous)
        }
    }

    /// Equal states, compared by their canonical encoding where `==` cannot tell: a field value
    /// may be a NaN, which is never equal to itself.
    static func same(_ lhs: RecordState, _ rhs: RecordState) -> Bool {
        lhs == rhs || RecordStateCodec.encode(lhs) == RecordStateCodec.encode(rhs)
    }

    /// What the store derives from a merged state: its encoding, its tags, and later local writes
    /// over it (a delete, a restore, an update).
    static func checkState(_ state: RecordState) {
        let bytes = RecordStateCodec.encode(state)
        guard let decoded = try? RecordStateCodec.decode(bytes) else { fatalError("a merged state does not survive its binary encoding") }
        fuzzCheck(same(decoded, state), "a merged state changes through its binary encoding")
        _ = state.orderedTags
        let stamp = Stamp(hlc: HLCTimestamp(millis: HLCTimestamp.maxMillis, counter: 0), node: "fuzz")
        let deleted = state.merged(.deleteDelta(stamp: stamp, over: state))
        _ = deleted.merged(.restoreDelta(stamp: stamp, over: deleted))
        _ = state.merged(.updateDelta(fields: ["content": .string("x")], tagEdit: .modify(add: ["a"], remove: ["b"]), stamp: stamp, over: state))
    }
}
