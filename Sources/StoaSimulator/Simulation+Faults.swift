import StoaCore
import StoaGossip

extension Simulation {
    // MARK: - Timed faults

    /// Carries out one scenario event (flaps arrive already expanded into ``cutLinks(_:cut:)``).
    func applyFault(_ action: ScenarioEvent.Action) {
        switch action {
        case .partition(let groups):
            network.cut(DirectedLink.cuts(between: groups, nodes: names))
            trace.record("\(now) partition \(groups.map { $0.joined(separator: ",") }.joined(separator: " | "))")
        case .heal:
            network.healAll()
            trace.record("\(now) heal")
        case .block(let from, let to):
            cutLinks(DirectedLink.all(from: from, to: to), cut: true)
        case .unblock(let from, let to):
            cutLinks(DirectedLink.all(from: from, to: to), cut: false)
        case .flap:
            // Expanded into `links` events when the run is built.
            break
        case .crash(let name):
            guard let node = nodes.first(where: { $0.name == name }) else { return }
            node.crash()
            trace.record("\(now) crash \(name)")
        case .restart(let name):
            guard let node = nodes.first(where: { $0.name == name }) else { return }
            node.restart()
            trace.record("\(now) restart \(name)")
            queue.schedule(at: now + 1, .tick(node: node.index, epoch: node.epoch))
        case .join(let name):
            guard let node = nodes.first(where: { $0.name == name }) else { return }
            node.restart()
            trace.record("\(now) join \(name) (empty database)")
            queue.schedule(at: now + 1, .tick(node: node.index, epoch: node.epoch))
        case .leave(let name):
            guard let node = nodes.first(where: { $0.name == name }) else { return }
            node.startLeaving(deadline: node.now + Self.leaveDrainMillis)
            trace.record("\(now) \(name) starts leaving")
        case .clockJump(let name, let millis):
            guard let node = nodes.first(where: { $0.name == name }) else { return }
            node.clock.jump(byMillis: millis)
            trace.record("\(now) clock \(name) jumps \(millis)ms")
        }
    }

    /// Cuts or restores links (a `block`/`unblock` event or a flap's half-period).
    func cutLinks(_ links: [DirectedLink], cut: Bool) {
        if cut { network.cut(links) } else { network.restore(links) }
        trace.record("\(now) \(cut ? "cut" : "restore") \(links.map(\.description).joined(separator: ","))")
    }

    /// How long a leaving node waits for its changes to reach the others (as the shell does).
    static let leaveDrainMillis: UInt64 = 10_000

    /// One step of a graceful leave (every 500 ms, from the node's tick): while a live peer
    /// lacks some of the node's own changes, push them and ask for its vector; once none does
    /// (or the drain time is over), announce the leave and stop for good (as
    /// `ClusterNode.leave()` does).
    func leavingStep(_ node: SimulatedNode) async {
        guard node.now >= node.nextLeaveStepAt else { return }
        node.nextLeaveStepAt = node.now + 500
        let origin = node.database.origin
        let own = node.database.versionVector().entries[origin]?.contiguous ?? 0
        let lacking = node.replication.peersLacking(origin: origin, through: own)
        guard lacking.isEmpty || node.now >= node.leaveDeadline else {
            for peer in lacking {
                await sendMissing(from: node, to: peer, theirVector: node.replication.vector(of: peer) ?? VersionVector())
                send(.vector(from: node.name, node.database.versionVector()), from: node, toPeer: peer)
            }
            return
        }
        trace.record("\(now) \(node.name) leaves (\(lacking.isEmpty ? "every peer holds its changes" : "drain time over"))")
        await handle(node.leave(), at: node)
    }
}
