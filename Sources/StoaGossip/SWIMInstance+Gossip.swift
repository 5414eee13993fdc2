extension SWIMInstance {
    // MARK: - Dissemination (SWIM §4.1; Lifeguard §IV-C)

    /// How many messages piggyback a claim: `retransmitMultiplier × ⌈log2(N + 1)⌉` with N the
    /// members not known dead, ourselves included.
    var retransmitLimit: Int {
        let n = UInt64(liveCount + 1)
        let ceilLog2 = n <= 1 ? 0 : 64 - (n - 1).leadingZeroBitCount
        return max(1, configuration.retransmitMultiplier * ceilLog2)
    }

    /// Queues a claim for piggybacking, replacing the queued claims about the same member it
    /// supersedes (all of them, except other accusers' suspicions of the same incarnation when
    /// it is itself such a suspicion).
    mutating func enqueue(_ update: MemberUpdate) {
        for key in gossip.keys where key.id == update.id {
            guard let entry = gossip[key] else { continue }
            let sameSuspicion = update.status == .suspect && entry.update.status == .suspect
                && entry.update.incarnation == update.incarnation
            if !sameSuspicion { gossip[key] = nil }
        }
        let key = GossipKey(id: update.id, accuser: update.status == .suspect ? (update.accuser ?? "") : "")
        gossip[key] = GossipEntry(update: update, transmissions: 0)
    }

    /// Picks the claims to piggyback on one message: first, when the destination is suspected
    /// or dead here, that claim about itself so it can refute (Lifeguard §IV-C, buddy system),
    /// and also when `correcting` (it announced metadata other than our claim about it);
    /// then the queued claims sent the fewest times, except those about the destination; then, for a `welcome` message (to a
    /// newcomer or a member that lost its state), our view of other members.
    mutating func takeGossip(
        about destination: MemberID?, welcome: Bool, correcting: Bool = false, rng: inout some RandomNumberGenerator
    ) -> [MemberUpdate] {
        let fanout = max(0, configuration.gossipFanoutPerMessage)
        var chosen: [MemberUpdate] = []
        guard fanout > 0 else { return chosen }
        if let destination, let state = table[destination], state.member.status != .alive || correcting {
            chosen.append(state.claim)
        }
        let limit = retransmitLimit
        let order = gossip.sorted { ($0.value.transmissions, $0.key) < ($1.value.transmissions, $1.key) }.map(\.key)
        for key in order {
            guard chosen.count < fanout else { break }
            // The destination knows it is alive, and hears of its suspicion from the buddy claim.
            guard key.id != destination, var entry = gossip[key] else { continue }
            if chosen.contains(entry.update) { continue }
            chosen.append(entry.update)
            entry.transmissions += 1
            gossip[key] = entry.transmissions >= limit ? nil : entry
        }
        if welcome, chosen.count < fanout {
            let known = table.values
                .filter { !$0.member.status.isDown && $0.member.id != destination }
                .map(\.member.id)
                .sorted()
                .shuffled(using: &rng)
            for id in known {
                guard chosen.count < fanout else { break }
                guard !chosen.contains(where: { $0.id == id }), let state = table[id] else { continue }
                chosen.append(state.claim)
            }
        }
        return chosen
    }

    /// Appends a `send` directive for `outgoing` with piggybacked gossip.
    ///
    /// - Parameter destination: the member at `address`, when known, for the buddy system.
    mutating func send(
        _ outgoing: Outgoing, to address: MemberAddress, about destination: MemberID?, welcome: Bool = false,
        correcting: Bool = false, rng: inout some RandomNumberGenerator, into directives: inout [SWIMDirective]
    ) {
        let gossip = takeGossip(about: destination, welcome: welcome, correcting: correcting, rng: &rng)
        let message: SWIMMessage
        switch outgoing {
        case .ping(let sequence): message = .ping(sequence: sequence, gossip: gossip)
        case .pingRequest(let sequence, let target): message = .pingRequest(sequence: sequence, target: target, gossip: gossip)
        case .ack(let sequence, let target): message = .ack(sequence: sequence, target: target, gossip: gossip)
        case .nack(let sequence, let target): message = .nack(sequence: sequence, target: target, gossip: gossip)
        }
        let envelope = SWIMEnvelope(from: myself, fromMeta: meta, fromIncarnation: incarnation, message: message)
        directives.append(.send(envelope, to: address))
    }
}
