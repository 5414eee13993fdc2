import Dispatch
import Metrics
import StoaGossip
import Synchronization

/// The shell around ``CacheInvalidationExchange``: the responder announces each write
/// (``announce(_:)``, awaited before the write is answered), membership feeds it the peers, the
/// ticks and the other gateways' notices, and it carries out the directives on this gateway's
/// ``GatewayCache`` and ``WriterAffinity`` and over the gossip link. Every directive is carried
/// out under the machine's lock, in order, and the cache's lease (``GatewayCache/leaseUntil``)
/// is published last, so no hit is served from a cache that a renewal was about to drop.
public final class GatewayCacheSync: Sendable {
    struct State: Sendable {
        var machine: CacheInvalidationExchange
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Peer names to their gossip addresses.
        var addresses: [String: MemberAddress] = [:]
    }

    let name: String
    let cache: GatewayCache
    let affinity: WriterAffinity
    private let state: Mutex<State>
    private let sender = Mutex<(@Sendable (WireMessage, MemberAddress) -> Void)?>(nil)
    /// True while other gateways are there (writes then wait for them).
    private let peered = Atomic<Bool>(false)
    private let flushes = Counter(label: "stoa_gateway_cache_flushes_total")
    private let waits = Counter(label: "stoa_gateway_cache_sync_waits_total")

    public init(name: String, cache: GatewayCache, affinity: WriterAffinity, epoch: UInt64 = UInt64.random(in: 1...UInt64.max),
                leaseNanos: UInt64 = 500_000_000, ackTimeoutNanos: UInt64 = 750_000_000) {
        self.name = name
        self.cache = cache
        self.affinity = affinity
        state = Mutex(State(machine: CacheInvalidationExchange(epoch: epoch, leaseNanos: leaseNanos, ackTimeoutNanos: ackTimeoutNanos)))
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// How notices go out (membership's datagram link).
    public func sendThrough(_ send: @escaping @Sendable (WireMessage, MemberAddress) -> Void) {
        sender.withLock { $0 = send }
    }

    /// True while there are other gateways to tell.
    public var hasPeers: Bool { peered.load(ordering: .relaxed) }

    /// Tells the other gateways of a write and returns once they have applied it (or the wait
    /// ran out; see ``CacheInvalidationExchange``). Returns at once without other gateways.
    public func announce(_ invalidations: [CacheInvalidation]) async {
        guard hasPeers else { return }
        waits.increment()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumed = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                let (sequence, directives) = state.machine.wrote(invalidations, now: Self.now())
                state.waiters[sequence] = continuation
                return carryOut(directives, in: &state)
            }
            for waiter in resumed { waiter.resume() }
        }
    }

    /// The other gateways membership believes alive or suspect, by name.
    public func setPeers(_ peers: [String: MemberAddress]) {
        let resumed = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.addresses = peers
            return carryOut(state.machine.setPeers(Set(peers.keys), now: Self.now()), in: &state)
        }
        peered.store(!peers.isEmpty, ordering: .relaxed)
        for waiter in resumed { waiter.resume() }
    }

    /// Every exchange tick: beats, resends, timeouts.
    public func tick() {
        let resumed = state.withLock { state in carryOut(state.machine.tick(now: Self.now()), in: &state) }
        for waiter in resumed { waiter.resume() }
    }

    /// Another gateway's notice or acknowledgement (one not yet among the peers is applied, and
    /// acknowledged once membership names it).
    public func received(_ message: WireMessage) {
        let resumed = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            switch message {
            case .cacheNotice(let from, let notice) where from != name:
                return carryOut(state.machine.received(notice, from: from, now: Self.now()), in: &state)
            case .cacheAck(let from, let epoch, let sequence) where from != name:
                return carryOut(state.machine.acknowledged(epoch: epoch, sequence: sequence, by: from, now: Self.now()), in: &state)
            default:
                return []
            }
        }
        for waiter in resumed { waiter.resume() }
    }

    /// Carries out `directives` in order; returns the writes' continuations to resume (outside
    /// the lock). Publishes the cache's lease last.
    private func carryOut(_ directives: [CacheInvalidationExchange.Directive], in state: inout State) -> [CheckedContinuation<Void, Never>] {
        var resumed: [CheckedContinuation<Void, Never>] = []
        let send = sender.withLock { $0 }
        for directive in directives {
            switch directive {
            case .send(let notice, let peer):
                if let address = state.addresses[peer] { send?(.cacheNotice(from: name, notice), address) }
            case .ack(let epoch, let sequence, let peer):
                if let address = state.addresses[peer] { send?(.cacheAck(from: name, epoch: epoch, sequence: sequence), address) }
            case .apply(let invalidations):
                let now = Self.now()
                for invalidation in invalidations {
                    if invalidation.everyRecord {
                        cache.invalidateAll(user: invalidation.user, collection: invalidation.collection)
                    } else {
                        cache.invalidate(user: invalidation.user, collection: invalidation.collection, recordID: invalidation.recordID)
                    }
                    if !invalidation.node.isEmpty { affinity.wrote(user: invalidation.writer, on: invalidation.node, now: now) }
                }
            case .flush:
                flushes.increment()
                cache.flush()
            case .resolved(let sequence):
                if let waiter = state.waiters.removeValue(forKey: sequence) { resumed.append(waiter) }
            }
        }
        cache.setLease(until: state.machine.leaseUntil)
        return resumed
    }
}
