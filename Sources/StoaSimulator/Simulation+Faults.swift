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
}
