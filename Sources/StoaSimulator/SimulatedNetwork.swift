import StoaCore

/// The simulated network between the nodes of a run: per-message delay, loss, duplication
/// and reordering from the ``FaultModel``, and cut links (partitions, one-way blocks, flaps).
///
/// Every directed link draws from its own generator (``SeedDerivation``, purpose
/// `"network FROM>TO"`), so the fate of the messages on one link does not depend on the
/// traffic on the others, nor on how many nodes the scenario has.
struct SimulatedNetwork {
    /// What happens to one message.
    enum Fate: Equatable {
        /// The link is cut.
        case cut
        /// Lost to the loss probability.
        case lost
        /// Delivered after each of these delays (two for a duplicated message).
        case delivered([UInt64])
    }

    let faults: FaultModel
    let names: [String]
    private let seed: UInt64
    private var blocked = Set<Int>()
    private var generators: [Int: SplitMix64] = [:]
    private(set) var statistics = NetworkStatistics()

    init(faults: FaultModel, names: [String], seed: UInt64) {
        self.faults = faults
        self.names = names
        self.seed = seed
    }

    private func key(_ from: Int, _ to: Int) -> Int { from * names.count + to }

    // MARK: - Cuts

    func isCut(from: Int, to: Int) -> Bool { blocked.contains(key(from, to)) }

    /// The cut links, sorted (for the trace).
    var cutLinks: [DirectedLink] {
        blocked.sorted().map { DirectedLink(from: names[$0 / names.count], to: names[$0 % names.count]) }
    }

    mutating func cut(_ links: [DirectedLink]) {
        for link in links { if let a = index(link.from), let b = index(link.to) { blocked.insert(key(a, b)) } }
    }

    mutating func restore(_ links: [DirectedLink]) {
        for link in links { if let a = index(link.from), let b = index(link.to) { blocked.remove(key(a, b)) } }
    }

    mutating func healAll() { blocked.removeAll() }

    private func index(_ name: String) -> Int? { names.firstIndex(of: name) }

    // MARK: - Sending

    /// Decides the fate of a message of `byteCount` bytes sent now from `from` to `to`.
    mutating func transmit(from: Int, to: Int, byteCount: Int) -> Fate {
        statistics.sent += 1
        statistics.bytes += byteCount
        guard !isCut(from: from, to: to) else {
            statistics.cut += 1
            return .cut
        }
        let link = key(from, to)
        var rng = generators[link] ?? SeedDerivation.generator(seed: seed, purpose: "network \(names[from])>\(names[to])")
        defer { generators[link] = rng }
        if SimMath.chance(faults.loss, &rng) {
            statistics.lost += 1
            return .lost
        }
        var delays = [delay(&rng)]
        if SimMath.chance(faults.duplicate, &rng) {
            statistics.duplicated += 1
            delays.append(delay(&rng))
        }
        return .delivered(delays)
    }

    private mutating func delay(_ rng: inout SplitMix64) -> UInt64 {
        var millis = faults.delay.sample(&rng)
        if SimMath.chance(faults.reorder, &rng) {
            statistics.reordered += 1
            millis += rng.next() % (faults.reorderExtraMillis + 1)
        }
        return millis
    }

    // MARK: - Delivering

    /// Whether a copy due now may be delivered: its link MUST still be whole (a message in
    /// flight when a link is cut is lost) and the target MUST be running.
    mutating func admit(from: Int, to: Int, targetUp: Bool) -> Bool {
        if isCut(from: from, to: to) {
            statistics.cut += 1
            return false
        }
        guard targetUp else {
            statistics.toDownNode += 1
            return false
        }
        statistics.delivered += 1
        return true
    }
}
