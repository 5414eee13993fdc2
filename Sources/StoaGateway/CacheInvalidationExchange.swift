import StoaGossip

/// Cache invalidation across gateways (issue 17): a write through one gateway is not answered
/// until every other gateway has dropped what it cached of it, so a client never reads its own
/// write back stale through another gateway. A pure state machine: time (monotonic nanoseconds)
/// comes in, ``Directive``s come out; ``GatewayCacheSync`` carries them out.
///
/// The protocol, between this gateway and each peer (another gateway that membership believes
/// alive or suspect, under another name):
/// - **Notices.** A write here makes a notice with the next ``sequence`` of this run
///   (``epoch``), sent to every peer and resent every ``resendNanos`` until the peer
///   acknowledges it. The peer applies it (drops the entries, points the writer at the node that
///   took the write) and then acknowledges. The write is answered (``Directive/resolved(_:)``)
///   once every peer that is not silent has acknowledged, or after ``ackTimeoutNanos``.
/// - **Beats.** Every tick a beat goes to every peer with the last sequence sent. A peer that
///   has not applied every notice up to it (one is late or lost) serves no hits until the
///   missing ones arrive (they are resent), or drops its whole cache when they have not come
///   within ``ackTimeoutNanos`` (the sender stopped resending).
/// - **The lease.** This gateway serves cache hits only while it has heard a notice or beat from
///   every peer within ``leaseNanos`` and misses no notice (``leaseUntil``); when it hears again
///   after a lapse, or from a peer's new run, it drops its whole cache first. So a peer that
///   could not reach this gateway has stopped serving hits by the time this gateway's wait for
///   it runs out (``ackTimeoutNanos`` exceeds the lease by a margin for transit).
/// - **Silent peers** (not heard for ``silenceNanos``) are not waited for: the link is down, and
///   the waiting would slow every write until membership gives up on them. If the link works
///   one way only, the notice still reaches them (resent) and beats reveal any loss; only a
///   client reading through them within a datagram's transit of the answer could read stale.
///
/// Contract: with peers reachable, when a write's ``Directive/resolved(_:)`` comes out, every
/// non-silent peer has applied its invalidations, has dropped its whole cache, or will not serve
/// a hit before it has (its lease has run out, given transit under ``ackTimeoutNanos`` −
/// ``leaseNanos``). Everything is deterministic: peers are visited in name order.
public struct CacheInvalidationExchange: Sendable {
    public enum Directive: Sendable, Hashable {
        /// Send `notice` to peer `to`.
        case send(CacheNotice, to: String)
        /// Acknowledge a peer's notice (after applying it).
        case ack(epoch: UInt64, sequence: UInt64, to: String)
        /// Drop what these invalidations name from the cache, and point their writers at the nodes.
        case apply([CacheInvalidation])
        /// Drop the whole cache (and what is being fetched into it).
        case flush
        /// The write with this sequence may be answered.
        case resolved(UInt64)
    }

    struct Peer: Sendable {
        var lastHeard: UInt64?
        var epoch: UInt64?
        /// Every notice up to this one has been applied.
        var floor: UInt64 = 0
        /// Notices past ``floor`` applied already.
        var ahead: Set<UInt64> = []
        /// The highest sequence heard of (a beat's or a notice's).
        var known: UInt64 = 0
        /// Since when a notice up to ``known`` has been missing.
        var gapSince: UInt64?

        mutating func advance() {
            while ahead.remove(floor + 1) != nil { floor += 1 }
        }
    }

    struct Pending: Sendable {
        var notice: CacheNotice
        var waiting: Set<String>
        var deadline: UInt64
        var lastSent: UInt64
    }

    public let epoch: UInt64
    public let leaseNanos: UInt64
    public let ackTimeoutNanos: UInt64
    public let resendNanos: UInt64
    public let silenceNanos: UInt64
    /// The sequence of the last notice sent (0: none yet).
    public private(set) var sequence: UInt64 = 0
    var peers: [String: Peer] = [:]
    var pending: [UInt64: Pending] = [:]
    /// True once the lease has been seen lapsed, until the flush that ends it.
    var lapsed = false

    public init(epoch: UInt64, leaseNanos: UInt64 = 500_000_000, ackTimeoutNanos: UInt64 = 750_000_000,
                resendNanos: UInt64 = 100_000_000, silenceNanos: UInt64 = 2_000_000_000) {
        precondition(ackTimeoutNanos > leaseNanos, "the wait for an acknowledgement must outlast the peers' lease")
        self.epoch = epoch
        self.leaseNanos = leaseNanos
        self.ackTimeoutNanos = ackTimeoutNanos
        self.resendNanos = resendNanos
        self.silenceNanos = silenceNanos
    }

    /// The peers, by name, sorted.
    public var peerNames: [String] { peers.keys.sorted() }

    /// Until when (monotonic nanoseconds) cached answers may be served: forever with no peers,
    /// not at all while a peer has never been heard or a notice is missing, else the oldest
    /// peer's last word plus the lease.
    public var leaseUntil: UInt64 {
        peers.values.contains { $0.gapSince != nil } ? 0 : heardUntil
    }

    /// The lease as hearing alone gives it (a lapse of it needs a flush; a missing notice does not).
    var heardUntil: UInt64 {
        var until = UInt64.max
        for peer in peers.values {
            guard let heard = peer.lastHeard else { return 0 }
            until = min(until, heard &+ leaseNanos)
        }
        return until
    }

    /// Peers not heard from within ``silenceNanos`` (or never).
    func isSilent(_ peer: Peer, now: UInt64) -> Bool {
        guard let heard = peer.lastHeard else { return true }
        return now > heard && now - heard > silenceNanos
    }

    /// Sets the peers (other gateways membership believes alive or suspect). New ones start
    /// unheard (no cache hits until they are heard); writes stop waiting for departed ones.
    public mutating func setPeers(_ names: Set<String>, now: UInt64) -> [Directive] {
        noteLapse(now: now)
        for name in peers.keys where !names.contains(name) { peers[name] = nil }
        for name in names where peers[name] == nil { peers[name] = Peer() }
        return (renewed(now: now) ? [.flush] : []) + settle(now: now)
    }

    /// A write through this gateway: its notice goes to every peer. Returns the sequence whose
    /// ``Directive/resolved(_:)`` answers the write (it may be among the directives already,
    /// when no peer needs to be waited for).
    public mutating func wrote(_ invalidations: [CacheInvalidation], now: UInt64) -> (sequence: UInt64, directives: [Directive]) {
        sequence += 1
        let notice = CacheNotice(epoch: epoch, sequence: sequence, invalidations: invalidations)
        var directives: [Directive] = []
        var waiting = Set<String>()
        for name in peerNames {
            directives.append(.send(notice, to: name))
            if let peer = peers[name], !isSilent(peer, now: now) { waiting.insert(name) }
        }
        if waiting.isEmpty {
            directives.append(.resolved(sequence))
        } else {
            pending[sequence] = Pending(notice: notice, waiting: waiting, deadline: now &+ ackTimeoutNanos, lastSent: now)
        }
        return (sequence, directives)
    }

    /// A notice or beat from another gateway. Its invalidations are applied and acknowledged
    /// (also from a gateway not yet among the peers); while a notice it told of is missing, no
    /// hits are served; a new run of the sender drops the whole cache.
    public mutating func received(_ notice: CacheNotice, from name: String, now: UInt64) -> [Directive] {
        noteLapse(now: now)
        guard var peer = peers[name] else {
            guard !notice.invalidations.isEmpty else { return [] }
            return [.apply(notice.invalidations), .ack(epoch: notice.epoch, sequence: notice.sequence, to: name)]
        }
        var flush = false
        if peer.epoch != notice.epoch {
            // First contact (a lapse anyway), or a new run: what it wrote before is unknown here.
            flush = peer.epoch != nil
            peer = Peer(lastHeard: peer.lastHeard, epoch: notice.epoch)
            peer.floor = notice.invalidations.isEmpty ? notice.sequence : notice.sequence &- 1
        }
        if !notice.invalidations.isEmpty, notice.sequence > peer.floor {
            peer.ahead.insert(notice.sequence)
            peer.advance()
        }
        peer.known = max(peer.known, notice.sequence)
        if peer.floor >= peer.known {
            peer.gapSince = nil
        } else if peer.gapSince == nil {
            peer.gapSince = now
        }
        peer.lastHeard = now
        peers[name] = peer
        if renewed(now: now) { flush = true }
        var directives: [Directive] = flush ? [.flush] : []
        if !notice.invalidations.isEmpty {
            directives.append(.apply(notice.invalidations))
            directives.append(.ack(epoch: notice.epoch, sequence: notice.sequence, to: name))
        }
        return directives
    }

    /// A peer applied notice `sequence` of this run.
    public mutating func acknowledged(epoch: UInt64, sequence: UInt64, by name: String, now: UInt64) -> [Directive] {
        guard epoch == self.epoch, var entry = pending[sequence] else { return [] }
        entry.waiting.remove(name)
        guard entry.waiting.isEmpty else {
            pending[sequence] = entry
            return []
        }
        pending[sequence] = nil
        return [.resolved(sequence)]
    }

    /// Every tick: a beat to every peer, notices resent to peers that have not acknowledged
    /// them, writes answered whose wait ran out.
    public mutating func tick(now: UInt64) -> [Directive] {
        noteLapse(now: now)
        var directives: [Directive] = []
        // A notice missing past the sender's wait will not be resent: start again from empty.
        for name in peerNames {
            guard var peer = peers[name], let since = peer.gapSince, now >= since &+ ackTimeoutNanos else { continue }
            peer.floor = peer.known
            peer.ahead = []
            peer.gapSince = nil
            peers[name] = peer
            if !directives.contains(.flush) { directives.append(.flush) }
        }
        let beat = CacheNotice(epoch: epoch, sequence: sequence, invalidations: [])
        for name in peerNames { directives.append(.send(beat, to: name)) }
        directives += settle(now: now)
        for key in pending.keys.sorted() {
            guard var entry = pending[key], now >= entry.lastSent &+ resendNanos else { continue }
            for name in entry.waiting.sorted() { directives.append(.send(entry.notice, to: name)) }
            entry.lastSent = now
            pending[key] = entry
        }
        return directives
    }

    /// Answers the writes that wait for nobody any more (departed or silent peers) or whose wait
    /// ran out.
    mutating func settle(now: UInt64) -> [Directive] {
        var directives: [Directive] = []
        for key in pending.keys.sorted() {
            guard var entry = pending[key] else { continue }
            entry.waiting = entry.waiting.filter { name in peers[name].map { !isSilent($0, now: now) } ?? false }
            if entry.waiting.isEmpty || now >= entry.deadline {
                pending[key] = nil
                directives.append(.resolved(key))
            } else {
                pending[key] = entry
            }
        }
        return directives
    }

    /// Marks the lease lapsed when it is (before an event renews it).
    mutating func noteLapse(now: UInt64) {
        if now >= heardUntil { lapsed = true }
    }

    /// After an event: true when the lease is valid again after a lapse (the cache must be
    /// dropped before it serves again).
    mutating func renewed(now: UInt64) -> Bool {
        guard lapsed, now < heardUntil else { return false }
        lapsed = false
        return true
    }
}
