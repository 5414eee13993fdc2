import StoaCore
import Testing
@testable import StoaGossip

/// One ``SWIMInstance`` fed hand-made envelopes.
@Suite("SWIM instance")
struct SWIMInstanceTests {
    // MARK: - Helpers

    static func id(_ name: String) -> MemberID { SWIMTestNetwork.id(name) }

    /// A configuration whose own probes never conclude during a test, to observe gossip alone.
    static var quietProbes: SWIMConfiguration {
        var configuration = SWIMConfiguration()
        configuration.probeIntervalMillis = 1_000_000
        configuration.probeTimeoutMillis = 900_000
        return configuration
    }

    static func update(_ name: String, _ status: MemberStatus, _ incarnation: UInt64, accuser: String? = nil) -> MemberUpdate {
        MemberUpdate(id: id(name), status: status, incarnation: incarnation, meta: "http://\(name)", accuser: accuser)
    }

    /// Delivers an inert message (an ack nobody waits for) from `sender` carrying `gossip`.
    @discardableResult
    static func deliver(
        to instance: inout SWIMInstance, from sender: String, incarnation: UInt64 = 0, gossip: [MemberUpdate] = [],
        at now: UInt64, rng: inout SplitMix64
    ) -> [SWIMDirective] {
        let envelope = SWIMEnvelope(
            from: id(sender), fromMeta: "http://\(sender)", fromIncarnation: incarnation,
            message: .ack(sequence: 0, target: id(sender), gossip: gossip)
        )
        return instance.onMessage(envelope, now: now, rng: &rng)
    }

    static func changes(_ directives: [SWIMDirective]) -> [String] {
        directives.compactMap {
            guard case .statusChanged(let id, let from, let to, _) = $0 else { return nil }
            return "\(id.name) \(from?.rawValue ?? "new")->\(to.rawValue)"
        }
    }

    static func sends(_ directives: [SWIMDirective]) -> [(SWIMEnvelope, MemberAddress)] {
        directives.compactMap {
            guard case .send(let envelope, let address) = $0 else { return nil }
            return (envelope, address)
        }
    }

    // MARK: - Precedence (SWIM §4.2)

    @Test("claims follow the SWIM precedence rules and statusChanged fires exactly on changes")
    func precedence() {
        var rng = SplitMix64(seed: 1)
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "", configuration: Self.quietProbes, seeds: [])
        #expect(Self.changes(Self.deliver(to: &instance, from: "n2", incarnation: 1, at: 0, rng: &rng)) == ["n2 new->alive"])
        let steps: [(MemberUpdate, [String], MemberStatus, UInt64)] = [
            (Self.update("n2", .alive, 1), [], .alive, 1),
            (Self.update("n2", .suspect, 0), [], .alive, 1),
            (Self.update("n2", .suspect, 1), ["n2 alive->suspect"], .suspect, 1),
            (Self.update("n2", .alive, 1), [], .suspect, 1),
            (Self.update("n2", .alive, 2), ["n2 suspect->alive"], .alive, 2),
            (Self.update("n2", .dead, 1), [], .alive, 2),
            (Self.update("n2", .dead, 2), ["n2 alive->dead"], .dead, 2),
            (Self.update("n2", .suspect, 2), [], .dead, 2),
            (Self.update("n2", .alive, 2), [], .dead, 2),
            (Self.update("n2", .dead, 3), [], .dead, 3),
            (Self.update("n2", .suspect, 4), ["n2 dead->suspect"], .suspect, 4),
            (Self.update("n2", .dead, 4), ["n2 suspect->dead"], .dead, 4),
            (Self.update("n2", .alive, 5), ["n2 dead->alive"], .alive, 5),
            (Self.update("n7", .dead, 9), [], .alive, 5),
            (Self.update("n8", .suspect, 0, accuser: "n3"), ["n8 new->suspect"], .alive, 5),
        ]
        var now: UInt64 = 10
        for (update, expected, status, incarnation) in steps {
            let directives = Self.deliver(to: &instance, from: "n3", gossip: [update], at: now, rng: &rng)
            now += 10
            #expect(Self.changes(directives).filter { !$0.hasPrefix("n3") } == expected, "after \(update)")
            #expect(instance.member(named: "n2")?.status == status, "after \(update)")
            #expect(instance.member(named: "n2")?.incarnation == incarnation, "after \(update)")
        }
        #expect(instance.member(named: "n7") == nil)
        #expect(instance.members.map(\.id.name) == ["n2", "n3", "n8"])
    }

    @Test("a suspicion about ourselves is refuted with a higher incarnation")
    func refutation() {
        var rng = SplitMix64(seed: 2)
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "m", configuration: Self.quietProbes, seeds: [])
        Self.deliver(to: &instance, from: "n2", gossip: [Self.update("n1", .suspect, 0, accuser: "n2")], at: 0, rng: &rng)
        #expect(instance.incarnation == 1)
        #expect(instance.localHealth == 1)
        // Stale claims about us change nothing.
        Self.deliver(to: &instance, from: "n2", gossip: [Self.update("n1", .dead, 0), MemberUpdate(id: Self.id("n1"), status: .alive, incarnation: 1, meta: "m")], at: 10, rng: &rng)
        #expect(instance.incarnation == 1)
        #expect(instance.localHealth == 1)
        // The refutation is carried by the envelope and by the gossip.
        let ping = SWIMEnvelope(from: Self.id("n2"), fromMeta: "", fromIncarnation: 0, message: .ping(sequence: 7, gossip: []))
        let sent = Self.sends(instance.onMessage(ping, now: 20, rng: &rng))
        #expect(sent.count == 1)
        guard let (reply, address) = sent.first else { return }
        #expect(address == Self.id("n2").address)
        #expect(reply.fromIncarnation == 1)
        #expect(reply.message == .ack(sequence: 7, target: Self.id("n1"), gossip: reply.message.gossip))
        #expect(reply.message.gossip.contains(MemberUpdate(id: Self.id("n1"), status: .alive, incarnation: 1, meta: "m")))
    }

    @Test("an alive claim about us from a previous life is overridden without a health cost")
    func aliveFromPreviousLife() {
        var rng = SplitMix64(seed: 2)
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "new", configuration: Self.quietProbes, seeds: [])
        Self.deliver(to: &instance, from: "n2", gossip: [MemberUpdate(id: Self.id("n1"), status: .alive, incarnation: 4, meta: "old")], at: 0, rng: &rng)
        #expect(instance.incarnation == 5)
        #expect(instance.localHealth == 0)
        // Same incarnation, other metadata: overridden too.
        Self.deliver(to: &instance, from: "n2", gossip: [MemberUpdate(id: Self.id("n1"), status: .alive, incarnation: 5, meta: "old")], at: 10, rng: &rng)
        #expect(instance.incarnation == 6)
        Self.deliver(to: &instance, from: "n2", gossip: [MemberUpdate(id: Self.id("n1"), status: .alive, incarnation: 6, meta: "new")], at: 20, rng: &rng)
        #expect(instance.incarnation == 6)
    }

    @Test("a member announcing other metadata at an incarnation not newer is answered with our claim; its newer one is taken with metaChanged")
    func staleMetadataCorrected() {
        var rng = SplitMix64(seed: 4)
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "", configuration: Self.quietProbes, seeds: [])
        Self.deliver(to: &instance, from: "n2", at: 0, rng: &rng)
        #expect(instance.member(named: "n2")?.meta == "http://n2")
        // n2 restarted on another port (incarnation 0 again) and pings us.
        let ping = SWIMEnvelope(from: Self.id("n2"), fromMeta: "http://n2:9999", fromIncarnation: 0, message: .ping(sequence: 3, gossip: []))
        let replies = instance.onMessage(ping, now: 10, rng: &rng)
        #expect(instance.member(named: "n2")?.meta == "http://n2", "not newer: not taken from the envelope")
        let ack = try? #require(Self.sends(replies).first?.0)
        #expect(ack?.message.gossip.first == MemberUpdate(id: Self.id("n2"), status: .alive, incarnation: 0, meta: "http://n2"))
        // A ping announcing the metadata we hold gets no such claim.
        let plain = Self.sends(instance.onMessage(
            SWIMEnvelope(from: Self.id("n2"), fromMeta: "http://n2", fromIncarnation: 0, message: .ping(sequence: 4, gossip: [])), now: 15, rng: &rng
        ))
        #expect(plain.first?.0.message.gossip.contains { $0.id.name == "n2" } == false)

        // n2 overrides it at incarnation 1: the new metadata is taken, announced as metaChanged.
        let envelope = SWIMEnvelope(from: Self.id("n2"), fromMeta: "http://n2:9999", fromIncarnation: 1, message: .ping(sequence: 5, gossip: []))
        let directives = instance.onMessage(envelope, now: 30, rng: &rng)
        #expect(Self.changes(directives).isEmpty, "still alive: no status change")
        #expect(directives.contains(.metaChanged(Self.id("n2"), meta: "http://n2:9999")))
        #expect(instance.member(named: "n2")?.meta == "http://n2:9999")
        #expect(instance.member(named: "n2")?.incarnation == 1)
    }

    @Test("a restarted member considered dead gets a reply carrying its dead claim, refutes and is alive again")
    func restartedMemberRejoins() {
        var rng = SplitMix64(seed: 3)
        var seed = SWIMInstance(myself: Self.id("n1"), meta: "", configuration: Self.quietProbes, seeds: [])
        Self.deliver(to: &seed, from: "n2", incarnation: 2, at: 0, rng: &rng)
        Self.deliver(to: &seed, from: "n3", gossip: [Self.update("n2", .dead, 2)], at: 10, rng: &rng)
        #expect(seed.member(named: "n2")?.status == .dead)

        var restarted = SWIMInstance(myself: Self.id("n2"), meta: "http://n2", seeds: [Self.id("n1").address])
        let joinPings = Self.sends(restarted.onTick(now: 20, rng: &rng))
        #expect(joinPings.map(\.1) == [Self.id("n1").address])
        guard let (ping, _) = joinPings.first else { return }
        let replies = seed.onMessage(ping, now: 25, rng: &rng)
        #expect(seed.member(named: "n2")?.status == .dead)
        #expect(Self.changes(replies).isEmpty)
        let acks = Self.sends(replies)
        #expect(acks.count == 1)
        guard let (ack, address) = acks.first else { return }
        #expect(address == Self.id("n2").address)
        #expect(ack.message.gossip.first == Self.update("n2", .dead, 2))
        // The ack also introduces the seed's other members to the newcomer.
        #expect(ack.message.gossip.contains { $0.id.name == "n3" && $0.status == .alive })

        let learned = restarted.onMessage(ack, now: 30, rng: &rng)
        #expect(restarted.incarnation == 3)
        #expect(Set(Self.changes(learned)) == ["n1 new->alive", "n3 new->alive"])

        let nextPing = Self.sends(restarted.onTick(now: 1100, rng: &rng)).first { $0.1 == Self.id("n1").address || $0.1 == Self.id("n3").address }
        guard let (envelope, _) = nextPing else {
            Issue.record("no message from the restarted member")
            return
        }
        #expect(envelope.fromIncarnation == 3)
        #expect(Self.changes(seed.onMessage(envelope, now: 1105, rng: &rng)) == ["n2 dead->alive"])
        #expect(seed.member(named: "n2")?.incarnation == 3)
    }

    // MARK: - Suspicion (Lifeguard §IV-B)

    @Test("the suspicion timeout formula", arguments: [
        (0, 3, 3000), (1, 3, 2000), (2, 3, 1416), (3, 3, 1000), (9, 3, 1000),
        (0, 1, 3000), (1, 1, 1000), (0, 0, 1000), (5, 0, 1000), (0, 2, 3000), (1, 2, 1739),
    ] as [(Int, Int, UInt64)])
    func suspicionTimeoutFormula(confirmations: Int, expected: Int, timeout: UInt64) {
        #expect(SWIMInstance.suspicionTimeout(confirmations: confirmations, expected: expected, minMillis: 1000, maxMillis: 3000) == timeout)
    }

    @Test("natural log matches known values")
    func naturalLog() {
        for (x, ln) in [(1.0, 0.0), (2.0, 0.693_147_180_559_945_3), (3.0, 1.098_612_288_668_109_8), (4.0, 1.386_294_361_119_890_6), (0.5, -0.693_147_180_559_945_3), (1e10, 23.025_850_929_940_457)] {
            #expect(abs(PortableMath.naturalLog(x) - ln) < 1e-12)
        }
        #expect(PortableMath.naturalLog(0).isNaN)
    }

    /// The time at which n5, suspected at t=10 by n2 and confirmed by `confirmers` at
    /// `confirmAt`, is declared dead by n1 (five members: K = 3).
    static func deathTime(confirmers: [String], confirmAt: UInt64 = 10) -> UInt64? {
        var rng = SplitMix64(seed: 4)
        var instance = SWIMInstance(myself: id("n1"), meta: "", configuration: quietProbes, seeds: [])
        for name in ["n2", "n3", "n4", "n5"] { deliver(to: &instance, from: name, at: 0, rng: &rng) }
        deliver(to: &instance, from: "n2", gossip: [update("n5", .suspect, 0, accuser: "n2")], at: 10, rng: &rng)
        var now: UInt64 = 0
        var confirmed = false
        while now < 10_000 {
            now += 50
            if !confirmed, now >= confirmAt {
                confirmed = true
                for name in confirmers {
                    deliver(to: &instance, from: "n3", gossip: [update("n5", .suspect, 0, accuser: name)], at: now, rng: &rng)
                }
            }
            if changes(instance.onTick(now: now, rng: &rng)).contains("n5 suspect->dead") { return now }
        }
        return nil
    }

    @Test("independent confirmations shorten the suspicion timeout")
    func suspicionShrinks() {
        // No confirmation: the maximum.
        #expect(Self.deathTime(confirmers: []) == 3050)
        // A repeated accuser is not an independent confirmation.
        #expect(Self.deathTime(confirmers: ["n2", "n2"]) == 3050)
        // Two confirmations: 3000 − ⌊2000·log 3 / log 4⌋ = 1416 ms.
        #expect(Self.deathTime(confirmers: ["n3", "n4"]) == 1450)
        // K = 3 confirmations (we may confirm too): the minimum.
        #expect(Self.deathTime(confirmers: ["n3", "n4", "n1"]) == 1050)
        // A late confirmation shortens a running suspicion: 2000 ms once confirmed at 2500.
        #expect(Self.deathTime(confirmers: ["n3"], confirmAt: 2500) == 2500)
    }

    @Test("two members: no confirmation can come, so the suspicion lasts the minimum")
    func suspicionWithoutPossibleConfirmations() {
        var rng = SplitMix64(seed: 5)
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "", seeds: [])
        Self.deliver(to: &instance, from: "n2", at: 0, rng: &rng)
        var transitions: [String] = []
        var now: UInt64 = 0
        while now < 5000 {
            now += 50
            transitions += Self.changes(instance.onTick(now: now, rng: &rng)).map { "\(now) \($0)" }
        }
        // Probed at 50, no ack by the end of the period at 550, dead 1000 ms later.
        #expect(transitions == ["550 n2 alive->suspect", "1550 n2 suspect->dead"])
    }

    // MARK: - Local health (Lifeguard §IV-A)

    @Test("failed probes raise local health, successful ones lower it, within bounds")
    func localHealthFromProbes() {
        var rng = SplitMix64(seed: 6)
        var configuration = SWIMConfiguration()
        configuration.maxLocalHealth = 3
        configuration.suspicionMaxMillis = 1_000_000
        configuration.suspicionMinMillis = 1_000_000
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "", configuration: configuration, seeds: [])
        Self.deliver(to: &instance, from: "n2", at: 0, rng: &rng)
        var now: UInt64 = 0
        var history: [Int] = []
        // n2 never answers: each failed probe costs 1 (no helper, so no nack expected).
        while now < 12_000 {
            now += 50
            _ = instance.onTick(now: now, rng: &rng)
            if history.last != instance.localHealth { history.append(instance.localHealth) }
        }
        #expect(history == [0, 1, 2, 3])
        #expect(instance.member(named: "n2")?.status == .suspect)
        // n2 answers again: every successful probe gives 1 back.
        while now < 40_000 {
            now += 50
            for (envelope, _) in Self.sends(instance.onTick(now: now, rng: &rng)) {
                guard case .ping(let sequence, _) = envelope.message else { continue }
                let ack = SWIMEnvelope(from: Self.id("n2"), fromMeta: "", fromIncarnation: 1, message: .ack(sequence: sequence, target: Self.id("n2"), gossip: []))
                _ = instance.onMessage(ack, now: now + 2, rng: &rng)
            }
            if history.last != instance.localHealth { history.append(instance.localHealth) }
        }
        #expect(history == [0, 1, 2, 3, 2, 1, 0])
        #expect(instance.member(named: "n2")?.status == .alive)
    }

    /// Runs one failed probe with two helpers, which answer with `nacks` nacks; returns the
    /// local health afterwards.
    static func healthAfterFailedIndirectProbe(nacks: Int) -> Int {
        var rng = SplitMix64(seed: 7)
        var instance = SWIMInstance(myself: id("n1"), meta: "", seeds: [])
        for name in ["n2", "n3", "n4"] { deliver(to: &instance, from: name, at: 0, rng: &rng) }
        var now: UInt64 = 0
        var nacksSent = 0
        while now < 700 {
            now += 50
            for (envelope, address) in sends(instance.onTick(now: now, rng: &rng)) {
                guard case .pingRequest(let sequence, let target, _) = envelope.message, nacksSent < nacks else { continue }
                nacksSent += 1
                let helper = MemberID(name: "n\(address.host.split(separator: ".").last ?? "")", host: address.host, port: address.port)
                let nack = SWIMEnvelope(from: helper, fromMeta: "http://\(helper.name)", fromIncarnation: 0, message: .nack(sequence: sequence, target: target, gossip: []))
                _ = instance.onMessage(nack, now: now + 170, rng: &rng)
            }
        }
        return instance.localHealth
    }

    @Test("a missed nack costs local health on top of the failed probe")
    func missedNacks() {
        #expect(Self.healthAfterFailedIndirectProbe(nacks: 2) == 1)
        #expect(Self.healthAfterFailedIndirectProbe(nacks: 1) == 2)
        #expect(Self.healthAfterFailedIndirectProbe(nacks: 0) == 2)
    }

    // MARK: - Probing and forwarding

    @Test("an intermediary relays the target's ack, or sends a nack when it stays silent")
    func intermediary() {
        var rng = SplitMix64(seed: 8)
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "", configuration: Self.quietProbes, seeds: [])
        let request = SWIMEnvelope(from: Self.id("n2"), fromMeta: "", fromIncarnation: 0, message: .pingRequest(sequence: 40, target: Self.id("n3"), gossip: []))
        let forwarded = Self.sends(instance.onMessage(request, now: 0, rng: &rng))
        #expect(forwarded.count == 1)
        guard let (ping, address) = forwarded.first, case .ping(let sequence, _) = ping.message else { return }
        #expect(address == Self.id("n3").address)
        let ack = SWIMEnvelope(from: Self.id("n3"), fromMeta: "", fromIncarnation: 0, message: .ack(sequence: sequence, target: Self.id("n3"), gossip: []))
        let relayed = Self.sends(instance.onMessage(ack, now: 5, rng: &rng))
        #expect(relayed.count == 1)
        #expect(relayed.first?.1 == Self.id("n2").address)
        #expect(relayed.first.map { $0.0.message == .ack(sequence: 40, target: Self.id("n3"), gossip: $0.0.message.gossip) } == true)

        // This time the target stays silent: a nack is due after 80% of the probe timeout.
        let second = SWIMEnvelope(from: Self.id("n2"), fromMeta: "", fromIncarnation: 0, message: .pingRequest(sequence: 41, target: Self.id("n3"), gossip: []))
        _ = instance.onMessage(second, now: 1000, rng: &rng)
        let early = Self.sends(instance.onTick(now: 1000 + 720_000, rng: &rng)).filter { if case .nack = $0.0.message { true } else { false } }
        #expect(early.count == 1)
        #expect(early.first.map { $0.0.message == .nack(sequence: 41, target: Self.id("n3"), gossip: $0.0.message.gossip) } == true)
    }

    @Test("round-robin probing visits every member once per round")
    func roundRobin() {
        var rng = SplitMix64(seed: 9)
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "", seeds: [])
        let others = ["n2", "n3", "n4", "n5", "n6"]
        for name in others { Self.deliver(to: &instance, from: name, at: 0, rng: &rng) }
        var targets: [String] = []
        var now: UInt64 = 0
        while targets.count < 15 {
            now += 50
            for (envelope, address) in Self.sends(instance.onTick(now: now, rng: &rng)) {
                guard case .ping(let sequence, _) = envelope.message, let name = others.first(where: { Self.id($0).address == address }) else { continue }
                targets.append(name)
                let ack = SWIMEnvelope(from: Self.id(name), fromMeta: "", fromIncarnation: 0, message: .ack(sequence: sequence, target: Self.id(name), gossip: []))
                _ = instance.onMessage(ack, now: now + 1, rng: &rng)
            }
        }
        for round in 0..<3 {
            #expect(Set(targets[(round * 5)..<(round * 5 + 5)]) == Set(others))
        }
        #expect(Array(targets[0..<5]) != Array(targets[5..<10]) || Array(targets[5..<10]) != Array(targets[10..<15]))
        #expect(instance.localHealth == 0)
    }

    // MARK: - Joining and gossip

    @Test("unjoined seeds are pinged about every second until a member there is known")
    func seedPinging() {
        var rng = SplitMix64(seed: 10)
        let seedAddress = Self.id("n9").address
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "", seeds: [seedAddress, Self.id("n1").address, seedAddress])
        var pingTimes: [UInt64] = []
        var now: UInt64 = 0
        while now <= 3000 {
            for (_, address) in Self.sends(instance.onTick(now: now, rng: &rng)) {
                #expect(address == seedAddress)
                pingTimes.append(now)
            }
            now += 100
        }
        #expect(pingTimes == [0, 1000, 2000, 3000])
        let changes = Self.deliver(to: &instance, from: "n9", at: 3050, rng: &rng)
        #expect(Self.changes(changes) == ["n9 new->alive"])
        var toSeedAfterJoin = 0
        while now <= 6000 {
            for (envelope, address) in Self.sends(instance.onTick(now: now, rng: &rng)) where address == seedAddress {
                guard case .ping(let sequence, _) = envelope.message else { continue }
                toSeedAfterJoin += 1
                let ack = SWIMEnvelope(from: Self.id("n9"), fromMeta: "", fromIncarnation: 0, message: .ack(sequence: sequence, target: Self.id("n9"), gossip: []))
                _ = instance.onMessage(ack, now: now + 1, rng: &rng)
            }
            now += 100
        }
        // Only regular probes now: one per protocol period.
        #expect(toSeedAfterJoin == 6)
    }

    @Test("messages carry at most the fan-out, and each claim only a bounded number of times")
    func gossipBounds() {
        var rng = SplitMix64(seed: 11)
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "", configuration: Self.quietProbes, seeds: [])
        let learned = (2...21).map { Self.update("n\($0)", .alive, 0) }
        Self.deliver(to: &instance, from: "n2", gossip: learned, at: 0, rng: &rng)
        #expect(instance.members.count == 20)
        let limit = instance.retransmitLimit
        #expect(limit == 3 * 5)  // N = 21 members: ⌈log2 22⌉ = 5
        var carried: [MemberUpdate: Int] = [:]
        for round in 0..<200 {
            let ping = SWIMEnvelope(from: Self.id("n2"), fromMeta: "http://n2", fromIncarnation: 0, message: .ping(sequence: UInt64(round), gossip: []))
            for (envelope, _) in Self.sends(instance.onMessage(ping, now: UInt64(round), rng: &rng)) {
                #expect(envelope.message.gossip.count <= 8)
                for update in envelope.message.gossip { carried[update, default: 0] += 1 }
            }
        }
        // Every claim but the one about the destination itself, which it does not need.
        #expect(carried.count == 19)
        #expect(!carried.keys.contains { $0.id.name == "n2" })
        #expect(carried.values.allSatisfy { $0 <= limit })
        #expect(carried.values.allSatisfy { $0 >= limit - 1 })
    }

    @Test("envelopes from our own name are ignored")
    func ownNameIgnored() {
        var rng = SplitMix64(seed: 12)
        var instance = SWIMInstance(myself: Self.id("n1"), meta: "", seeds: [])
        let impostor = MemberID(name: "n1", host: "10.9.9.9", port: 1)
        let envelope = SWIMEnvelope(from: impostor, fromMeta: "", fromIncarnation: 0, message: .ping(sequence: 1, gossip: [Self.update("n1", .dead, 5)]))
        #expect(instance.onMessage(envelope, now: 0, rng: &rng).isEmpty)
        #expect(instance.members.isEmpty)
        #expect(instance.incarnation == 0)
    }
}
