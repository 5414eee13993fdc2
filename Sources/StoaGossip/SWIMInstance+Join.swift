extension SWIMInstance {
    // MARK: - Joining and healing

    /// Pings every seed at which no live member is known, and one random dead member.
    ///
    /// SWIM alone never talks to a member it declared dead, so two sides of a healed partition
    /// that declared each other dead would stay apart. Pinging a dead member carries its `dead`
    /// claim (buddy system), so if it is in fact running it refutes with a higher incarnation
    /// and both views merge again; a ping to a dead seed does the same for restarted seeds.
    mutating func pingSeedsAndDead(rng: inout some RandomNumberGenerator, into directives: inout [SWIMDirective]) {
        let sortedMembers = table.keys.sorted()
        let liveAddresses = Set(sortedMembers.filter { table[$0]?.member.status.isDown == false }.map(\.address))
        for seed in seeds where !liveAddresses.contains(seed) {
            let known = sortedMembers.first { $0.address == seed }
            send(.ping(sequence: nextSequence()), to: seed, about: known, rng: &rng, into: &directives)
        }
        let dead = sortedMembers.filter { table[$0]?.member.status == .dead && !seeds.contains($0.address) }
        if !dead.isEmpty {
            let chosen = dead[Int.random(in: 0..<dead.count, using: &rng)]
            send(.ping(sequence: nextSequence()), to: chosen.address, about: chosen, rng: &rng, into: &directives)
        }
    }
}
