extension SWIMInstance {
    // MARK: - Protocol period (SWIM §3.1, §4.3; Lifeguard §IV-A)

    /// The multiplier Lifeguard applies to probe timeouts and periods: `localHealth + 1`.
    var healthMultiplier: UInt64 { UInt64(max(0, localHealth) + 1) }

    /// Starts a protocol period: pings the next member of the round-robin order. Without a
    /// member to probe, the next period is tried one probe interval later.
    mutating func startProbe(now: UInt64, rng: inout some RandomNumberGenerator, into directives: inout [SWIMDirective]) {
        guard let target = nextProbeTarget(rng: &rng) else {
            nextProbeAt = now + configuration.probeIntervalMillis
            return
        }
        let multiplier = healthMultiplier
        let sequence = nextSequence()
        let periodEnd = now + configuration.probeIntervalMillis * multiplier
        probe = ProbeState(
            target: target, sequence: sequence,
            directDeadline: now + configuration.probeTimeoutMillis * multiplier,
            periodEnd: periodEnd
        )
        nextProbeAt = periodEnd
        send(.ping(sequence: sequence), to: target.address, about: target, rng: &rng, into: &directives)
    }

    /// SWIM §4.3: members are probed in a round-robin order over a list shuffled at the start
    /// of every round; members not known dead are probed (suspects too, so they can be
    /// confirmed or heard from).
    private mutating func nextProbeTarget(rng: inout some RandomNumberGenerator) -> MemberID? {
        var reshuffled = false
        while true {
            if probeIndex >= probeOrder.count {
                guard !reshuffled else { return nil }
                reshuffled = true
                probeOrder = table.keys.filter { table[$0]?.member.status.isDown == false }.sorted().shuffled(using: &rng)
                probeIndex = 0
                if probeOrder.isEmpty { return nil }
            }
            let candidate = probeOrder[probeIndex]
            probeIndex += 1
            if let state = table[candidate], !state.member.status.isDown {
                return candidate
            }
        }
    }

    /// Advances the current probe: after the (scaled) probe timeout asks `k` random alive
    /// members to probe indirectly (SWIM §3.1); at the end of the (scaled) protocol period
    /// without an ack suspects the target (SWIM §4.2) and lowers local health: +1 for the
    /// failed probe, +1 more when an expected nack did not come (Lifeguard §IV-A).
    mutating func checkProbe(now: UInt64, rng: inout some RandomNumberGenerator, into directives: inout [SWIMDirective]) {
        guard var current = probe else { return }
        if !current.indirectSent, now >= current.directDeadline, now < current.periodEnd {
            current.indirectSent = true
            let helpers = table.values
                .filter { $0.member.status == .alive && $0.member.id != current.target }
                .map(\.member.id)
                .sorted()
                .shuffled(using: &rng)
                .prefix(max(0, configuration.indirectProbeCount))
            current.expectedNacks = helpers.count
            probe = current
            for helper in helpers {
                send(.pingRequest(sequence: current.sequence, target: current.target), to: helper.address, about: helper, rng: &rng, into: &directives)
            }
        }
        guard now >= current.periodEnd else { return }
        probe = nil
        var penalty = 1
        if current.expectedNacks > 0, current.nacks < current.expectedNacks { penalty += 1 }
        adjustLocalHealth(by: penalty)
        if let state = table[current.target], !state.member.status.isDown {
            apply(
                MemberUpdate(
                    id: current.target, status: .suspect, incarnation: state.member.incarnation,
                    meta: state.member.meta, accuser: myself.name
                ),
                now: now, rng: &rng, into: &directives
            )
        }
    }

    // MARK: - Answering

    /// We are the intermediary of a ping-req (SWIM §3.1): ping the target with our own
    /// sequence, relay its ack, or send a nack if it does not answer in time (Lifeguard §IV-A).
    ///
    /// The nack is due after 80% of the probe timeout so it reaches the requester within its
    /// indirect window even with ~100 ms ticks.
    mutating func handlePingRequest(
        sequence: UInt64, target: MemberID, from requester: MemberID, now: UInt64,
        rng: inout some RandomNumberGenerator, into directives: inout [SWIMDirective]
    ) {
        if target == myself {
            send(.ack(sequence: sequence, target: myself), to: requester.address, about: requester, rng: &rng, into: &directives)
            return
        }
        let mine = nextSequence()
        forwarded[mine] = ForwardedProbe(
            requester: requester, requesterSequence: sequence, target: target,
            nackAt: now + configuration.probeTimeoutMillis * 4 / 5
        )
        send(.ping(sequence: mine), to: target.address, about: target, rng: &rng, into: &directives)
    }

    /// An ack either completes our own probe (local health −1, Lifeguard §IV-A) or answers a
    /// ping we sent as an intermediary, which is then relayed to the requester.
    mutating func handleAck(sequence: UInt64, target: MemberID, rng: inout some RandomNumberGenerator, into directives: inout [SWIMDirective]) {
        if let current = probe, current.sequence == sequence, current.target == target {
            probe = nil
            adjustLocalHealth(by: -1)
        } else if let relay = forwarded[sequence], relay.target == target {
            forwarded[sequence] = nil
            send(.ack(sequence: relay.requesterSequence, target: target), to: relay.requester.address, about: relay.requester, rng: &rng, into: &directives)
        }
    }

    /// Sends the nacks of intermediary pings whose target did not answer in time, in sequence order.
    mutating func sendOwedNacks(now: UInt64, rng: inout some RandomNumberGenerator, into directives: inout [SWIMDirective]) {
        for sequence in forwarded.keys.sorted() {
            guard let relay = forwarded[sequence], now >= relay.nackAt else { continue }
            forwarded[sequence] = nil
            send(.nack(sequence: relay.requesterSequence, target: relay.target), to: relay.requester.address, about: relay.requester, rng: &rng, into: &directives)
        }
    }

    /// The next sequence number for a ping we send.
    mutating func nextSequence() -> UInt64 {
        lastSequence &+= 1
        return lastSequence
    }
}
