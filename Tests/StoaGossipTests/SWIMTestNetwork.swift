import StoaCore
@testable import StoaGossip

/// A deterministic in-test network of ``SWIMInstance``s: a fake clock stepped in 50 ms ticks,
/// messages delivered after 1–5 ms at their own instant, one seeded generator for everything.
/// Nodes can be killed (they stop ticking; messages to them vanish), restarted with a fresh
/// instance at incarnation 0, and links cut by a drop rule.
struct SWIMTestNetwork {
    struct Node {
        var instance: SWIMInstance
        var up = true
    }

    struct InFlight {
        var deliverAt: UInt64
        var order: UInt64
        var to: MemberAddress
        var envelope: SWIMEnvelope
    }

    /// One status change seen by one node.
    struct Event: Equatable {
        var at: UInt64
        var observer: String
        var subject: String
        var from: MemberStatus?
        var to: MemberStatus
    }

    /// The fake clock advances by this much per tick.
    var tickMillis: UInt64 = 50

    let names: [String]
    let configuration: SWIMConfiguration
    var nodes: [String: Node] = [:]
    var inFlight: [InFlight] = []
    var now: UInt64 = 0
    var rng: SplitMix64
    var sent: UInt64 = 0
    /// Every directive, in order, with the node that returned it.
    var trace: [String] = []
    var events: [Event] = []
    /// Every `metaChanged` directive: who saw which member announce what.
    var metaChanges: [(observer: String, subject: String, meta: String)] = []
    /// Drops a message from `from` to `to` when it returns true.
    var dropRule: ((_ from: String, _ to: String) -> Bool)?
    /// Nodes restarted at least once (their event chains start over).
    var restartedNodes: Set<String> = []
    /// The highest local health each node reached.
    var maxLocalHealth: [String: Int] = [:]

    /// Nodes `names`, each given the first node's address as its only seed.
    init(names: [String], seed: UInt64, configuration: SWIMConfiguration = .init()) {
        self.names = names
        self.configuration = configuration
        rng = SplitMix64(seed: seed)
        for name in names { nodes[name] = Node(instance: freshInstance(name)) }
    }

    static func id(_ name: String) -> MemberID {
        MemberID(name: name, host: "10.0.0.\(name.dropFirst())", port: 7946)
    }

    func freshInstance(_ name: String, meta: String? = nil) -> SWIMInstance {
        let seeds = names.first.map { [Self.id($0).address] } ?? []
        return SWIMInstance(myself: Self.id(name), meta: meta ?? "http://\(name):8090", configuration: configuration, seeds: seeds)
    }

    func name(at address: MemberAddress) -> String? {
        names.first { Self.id($0).address == address }
    }

    // MARK: - Driving

    /// Runs for `millis` of simulated time.
    mutating func run(for millis: UInt64) {
        let end = now + millis
        while now < end { step() }
    }

    /// Runs until `condition` holds (checked after each tick) or `limit` ms passed; returns
    /// the simulated time it took, or `nil`.
    mutating func run(upTo limit: UInt64, until condition: (SWIMTestNetwork) -> Bool) -> UInt64? {
        let start = now
        while now - start < limit {
            step()
            if condition(self) { return now - start }
        }
        return nil
    }

    /// One tick: deliver every message due before it at its own instant, then tick every live node.
    mutating func step() {
        let end = now + tickMillis
        while let index = nextDue(before: end) {
            let message = inFlight.remove(at: index)
            now = max(now, message.deliverAt)
            guard let target = name(at: message.to), var node = nodes[target], node.up else { continue }
            let directives = node.instance.onMessage(message.envelope, now: now, rng: &rng)
            nodes[target] = node
            handle(directives, from: target)
        }
        now = end
        for name in names {
            guard var node = nodes[name], node.up else { continue }
            let directives = node.instance.onTick(now: now, rng: &rng)
            nodes[name] = node
            handle(directives, from: name)
        }
    }

    private func nextDue(before end: UInt64) -> Int? {
        var best: Int?
        for (index, message) in inFlight.enumerated() where message.deliverAt <= end {
            if let current = best, (inFlight[current].deliverAt, inFlight[current].order) <= (message.deliverAt, message.order) { continue }
            best = index
        }
        return best
    }

    private mutating func handle(_ directives: [SWIMDirective], from name: String) {
        if let health = nodes[name]?.instance.localHealth {
            maxLocalHealth[name] = max(maxLocalHealth[name] ?? 0, health)
        }
        for directive in directives {
            trace.append("\(now) \(name) \(directive)")
            switch directive {
            case .send(let envelope, let address):
                let destination = self.name(at: address) ?? "?"
                if let dropRule, dropRule(name, destination) { continue }
                sent += 1
                let delay = 1 + rng.next() % 5
                inFlight.append(InFlight(deliverAt: now + delay, order: sent, to: address, envelope: envelope))
            case .statusChanged(let id, let from, let to, _):
                events.append(Event(at: now, observer: name, subject: id.name, from: from, to: to))
            case .metaChanged(let id, let meta):
                metaChanges.append((observer: name, subject: id.name, meta: meta))
            }
        }
    }

    // MARK: - Faults

    mutating func kill(_ name: String) { nodes[name]?.up = false }

    /// `name` announces that it leaves (its pings go out), then stops.
    mutating func leave(_ name: String) {
        guard var node = nodes[name] else { return }
        let directives = node.instance.leave()
        node.up = false
        nodes[name] = node
        handle(directives, from: name)
    }

    mutating func restart(_ name: String, meta: String? = nil) {
        nodes[name] = Node(instance: freshInstance(name, meta: meta))
        restartedNodes.insert(name)
    }

    // MARK: - Views

    func instance(_ name: String) -> SWIMInstance? { nodes[name]?.instance }

    /// What `observer` believes about `subject`.
    func status(of subject: String, seenBy observer: String) -> MemberStatus? {
        nodes[observer]?.instance.member(named: subject)?.status
    }

    /// True when every running node other than `subject` sees it with `status`.
    func everyoneSees(_ subject: String, as status: MemberStatus) -> Bool {
        names.allSatisfy { observer in
            observer == subject || nodes[observer]?.up != true || self.status(of: subject, seenBy: observer) == status
        }
    }

    /// True when each node's `statusChanged` events form an unbroken chain per subject (the
    /// first from `nil`, each from the previous `to`, never to the same status) ending at the
    /// status the node now reports. A restarted node starts a new chain.
    var eventsAreConsistent: Bool {
        struct Pair: Hashable {
            var observer: String
            var subject: String
        }
        var last: [Pair: MemberStatus] = [:]
        for event in events {
            let pair = Pair(observer: event.observer, subject: event.subject)
            if event.from == nil, last[pair] != nil, !restartedNodes.contains(event.observer) { return false }
            if let from = event.from, last[pair] != from { return false }
            if event.from == event.to { return false }
            last[pair] = event.to
        }
        return last.allSatisfy { pair, status in
            self.status(of: pair.subject, seenBy: pair.observer) == status
        }
    }

    /// True when every running node sees every other running node alive.
    var allRunningAgreeAlive: Bool {
        let running = names.filter { nodes[$0]?.up == true }
        return running.allSatisfy { observer in
            running.allSatisfy { subject in subject == observer || status(of: subject, seenBy: observer) == .alive }
        }
    }
}
