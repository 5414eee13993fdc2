import StoaCore

extension SWIMInstance {
    // MARK: - Applying claims (SWIM §4.2)

    /// Applies one claim to the local view with the SWIM §4.2 precedence rules (see
    /// ``onMessage(_:now:rng:)``), emitting `statusChanged` for every status change and queueing
    /// the claim for re-gossip when it changed the view.
    ///
    /// - Returns: whether the view changed.
    @discardableResult
    mutating func apply(
        _ update: MemberUpdate, now: UInt64, rng: inout some RandomNumberGenerator, into directives: inout [SWIMDirective]
    ) -> Bool {
        if update.id == myself { return applyAboutMyself(update) }
        // Another id with our name is a misconfiguration or a stale identity of ours: ignore it.
        guard update.id.name != myself.name else { return false }
        guard var state = table[update.id] else {
            return learn(update, now: now, rng: &rng, into: &directives)
        }
        let current = state.member
        switch update.status {
        case .alive:
            guard update.incarnation > current.incarnation else { return false }
            state.member.incarnation = update.incarnation
            state.member.meta = update.meta
            state.suspicion = nil
            transition(&state, to: .alive, now: now, into: &directives)

        case .suspect:
            if current.status == .suspect, update.incarnation == current.incarnation {
                // Lifeguard §IV-B: an independent confirmation of the running suspicion.
                let accuser = update.accuser ?? ""
                guard var suspicion = state.suspicion, !suspicion.accusers.contains(accuser) else { return false }
                suspicion.accusers.append(accuser)
                state.suspicion = suspicion
                table[update.id] = state
                enqueue(MemberUpdate(id: update.id, status: .suspect, incarnation: update.incarnation, meta: current.meta, accuser: accuser))
                return true
            }
            let newer = update.incarnation > current.incarnation
            guard newer || (current.status == .alive && update.incarnation == current.incarnation) else { return false }
            if newer {
                state.member.incarnation = update.incarnation
                if !update.meta.isEmpty { state.member.meta = update.meta }
            }
            state.suspicion = Suspicion(
                startedAt: now, accusers: [update.accuser ?? ""],
                expectedConfirmations: expectedConfirmations(subject: update.id)
            )
            transition(&state, to: .suspect, now: now, into: &directives)

        case .dead:
            guard update.incarnation >= current.incarnation else { return false }
            if current.status.isDown {
                // A member that left stays left at its incarnation (dead adds nothing).
                guard update.incarnation > current.incarnation else { return false }
                state.member.incarnation = update.incarnation
                transition(&state, to: .dead, now: now, into: &directives)
            } else {
                state.member.incarnation = update.incarnation
                state.suspicion = nil
                transition(&state, to: .dead, now: now, into: &directives)
            }

        case .left:
            // The member's own announcement: overrides every claim at its incarnation or below.
            guard update.incarnation >= current.incarnation, current.status != .left || update.incarnation > current.incarnation else { return false }
            state.member.incarnation = update.incarnation
            state.suspicion = nil
            transition(&state, to: .left, now: now, into: &directives)
        }
        table[update.id] = state
        if state.member.status == current.status, state.member.meta != current.meta {
            directives.append(.metaChanged(update.id, meta: state.member.meta))
        }
        enqueue(
            MemberUpdate(
                id: update.id, status: update.status, incarnation: update.incarnation, meta: state.member.meta,
                accuser: update.status == .suspect ? (update.accuser ?? "") : nil
            )
        )
        return true
    }

    /// Adds a member we did not know. `dead` claims about unknown members are ignored: there
    /// is nothing to take down, and listing them would bring forgotten members back.
    private mutating func learn(
        _ update: MemberUpdate, now: UInt64, rng: inout some RandomNumberGenerator, into directives: inout [SWIMDirective]
    ) -> Bool {
        guard !update.status.isDown else { return false }
        var state = MemberState(
            member: Member(id: update.id, status: update.status, incarnation: update.incarnation, meta: update.meta, lastChange: now),
            suspicion: nil
        )
        if update.status == .suspect {
            state.suspicion = Suspicion(
                startedAt: now, accusers: [update.accuser ?? ""],
                expectedConfirmations: expectedConfirmations(subject: update.id)
            )
        }
        table[update.id] = state
        // SWIM §4.3: a new member goes to a random position of the rest of this round.
        let position = probeIndex >= probeOrder.count ? probeOrder.count : Int.random(in: probeIndex...probeOrder.count, using: &rng)
        probeOrder.insert(update.id, at: position)
        directives.append(.statusChanged(update.id, from: nil, to: update.status, meta: update.meta))
        enqueue(state.claim)
        return true
    }

    /// A claim about ourselves: `suspect` or `dead` at or above our incarnation is refuted
    /// (SWIM §4.2) by spreading `alive` with a higher incarnation; refuting costs local health
    /// (Lifeguard §IV-A). An `alive` claim newer than ours (left from before a restart) or
    /// announcing other metadata is overridden the same way, without the health cost. Claims
    /// with an older incarnation are stale and ignored.
    private mutating func applyAboutMyself(_ update: MemberUpdate) -> Bool {
        switch update.status {
        case .alive:
            guard update.incarnation > incarnation || (update.incarnation == incarnation && update.meta != meta) else { return false }
            incarnation = update.incarnation + 1
            enqueue(MemberUpdate(id: myself, status: .alive, incarnation: incarnation, meta: meta))
            return true
        case .suspect, .dead, .left:
            // A claim that we left while we run (started again after leaving) is refuted too.
            guard update.incarnation >= incarnation else { return false }
            incarnation = update.incarnation + 1
            adjustLocalHealth(by: 1)
            enqueue(MemberUpdate(id: myself, status: .alive, incarnation: incarnation, meta: meta))
            return true
        }
    }

    /// Sets the status, stamping `lastChange` and emitting `statusChanged` when it differs.
    private func transition(_ state: inout MemberState, to status: MemberStatus, now: UInt64, into directives: inout [SWIMDirective]) {
        let old = state.member.status
        guard old != status else { return }
        state.member.status = status
        state.member.lastChange = now
        directives.append(.statusChanged(state.member.id, from: old, to: status, meta: state.member.meta))
    }

    // MARK: - Suspicion (Lifeguard §IV-B)

    /// K: the independent confirmations expected, `min(maxSuspicionConfirmations, n − 2)` with
    /// `n` the members not known dead, ourselves and the suspect included (the suspect cannot
    /// confirm, and the first accuser raised the suspicion).
    func expectedConfirmations(subject: MemberID) -> Int {
        let others = table.values.count { $0.member.id != subject && !$0.member.status.isDown }
        let count = others + 2
        return max(0, min(configuration.maxSuspicionConfirmations, count - 2))
    }

    /// Lifeguard §IV-B: `max(min, max − (max − min) · log(C + 1) / log(K + 1))`, so the
    /// suspicion timeout starts at `maxMillis` and reaches `minMillis` after K independent
    /// confirmations; `minMillis` when no confirmation can be expected (K ≤ 0).
    static func suspicionTimeout(confirmations: Int, expected: Int, minMillis: UInt64, maxMillis: UInt64) -> UInt64 {
        guard expected > 0, maxMillis > minMillis else { return minMillis }
        let confirmed = max(0, min(confirmations, expected))
        let fraction = PortableMath.naturalLog(Double(confirmed + 1)) / PortableMath.naturalLog(Double(expected + 1))
        let clamped = fraction.isNaN ? 0 : min(1, max(0, fraction))
        let span = maxMillis - minMillis
        let scaled = Double(span) * clamped
        // Converting truncates, which is floor for a non-negative value (and needs no libm).
        let reduction = scaled >= Double(span) ? span : UInt64(scaled)
        return maxMillis - reduction
    }

    /// The current timeout of a suspicion.
    func timeout(of suspicion: Suspicion) -> UInt64 {
        Self.suspicionTimeout(
            confirmations: suspicion.confirmations, expected: suspicion.expectedConfirmations,
            minMillis: configuration.suspicionMinMillis, maxMillis: configuration.suspicionMaxMillis
        )
    }

    /// Declares dead every suspect whose suspicion timed out (SWIM §4.2), in id order.
    mutating func expireSuspicions(now: UInt64, into directives: inout [SWIMDirective]) {
        for id in table.keys.sorted() {
            guard var state = table[id], state.member.status == .suspect, let suspicion = state.suspicion else { continue }
            guard now >= suspicion.startedAt + timeout(of: suspicion) else { continue }
            state.suspicion = nil
            transition(&state, to: .dead, now: now, into: &directives)
            table[id] = state
            enqueue(state.claim)
        }
    }

    // MARK: - Local health (Lifeguard §IV-A)

    /// Adds `delta` to the local health score, kept within `0...maxLocalHealth`.
    mutating func adjustLocalHealth(by delta: Int) {
        localHealth = min(max(localHealth + delta, 0), max(0, configuration.maxLocalHealth))
    }

    // MARK: - Forgetting

    /// Forgets members dead for longer than the retention, unless their address is a seed.
    mutating func forgetLongDead(now: UInt64) {
        let retention = configuration.deadMemberRetentionMillis
        for (id, state) in table
        where state.member.status.isDown && now >= state.member.lastChange &+ retention && !seeds.contains(id.address) {
            table[id] = nil
        }
    }
}
