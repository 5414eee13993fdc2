import StoaCore
import Testing
@testable import StoaGossip

/// Small clusters driven by ``SWIMTestNetwork`` with the default configuration.
@Suite("SWIM cluster")
struct SWIMClusterTests {
    static let seeds: [UInt64] = [1, 2, 3, 4, 5]

    @Test("members joining through one seed all see each other alive", arguments: seeds)
    func joinThroughOneSeed(seed: UInt64) {
        var network = SWIMTestNetwork(names: ["n1", "n2", "n3", "n4", "n5"], seed: seed)
        let took = network.run(upTo: 10_000) { $0.allRunningAgreeAlive }
        #expect(took != nil)
        #expect((took ?? .max) <= 3000)
        network.run(for: 5000)
        #expect(network.allRunningAgreeAlive)
        for name in network.names {
            let members = network.instance(name)?.members ?? []
            #expect(members.count == 4)
            #expect(members.allSatisfy { $0.status == .alive && $0.incarnation == 0 })
            #expect(network.instance(name)?.localHealth == 0)
        }
        // Nobody was ever suspected on a healthy network, and each node learned each other once.
        #expect(network.events.allSatisfy { $0.from == nil && $0.to == .alive })
        #expect(network.events.count == 5 * 4)
        // Metadata travels with membership.
        #expect(network.instance("n4")?.member(named: "n2")?.meta == "http://n2:8090")
        #expect(network.eventsAreConsistent)
    }

    @Test("a member that stops answering is suspected, then dead everywhere within 5 s", arguments: seeds)
    func killedMemberDeclaredDead(seed: UInt64) {
        var network = SWIMTestNetwork(names: ["n1", "n2", "n3", "n4"], seed: seed)
        network.run(for: 4000)
        #expect(network.allRunningAgreeAlive)
        network.kill("n3")
        let killedAt = network.now
        let took = network.run(upTo: 10_000) { $0.everyoneSees("n3", as: .dead) }
        #expect(took != nil)
        #expect((took ?? .max) <= 5000, "dead everywhere after \(took ?? 0) ms")
        let aboutVictim = network.events.filter { $0.subject == "n3" && $0.at >= killedAt }
        #expect(aboutVictim.contains { $0.to == .suspect })
        #expect(aboutVictim.contains { $0.to == .dead })
        // The survivors never doubted each other.
        #expect(network.events.allSatisfy { $0.subject == "n3" || $0.to == .alive })
        network.run(for: 5000)
        #expect(network.everyoneSees("n3", as: .dead))
        #expect(network.eventsAreConsistent)
    }

    @Test("a falsely suspected member refutes and stays alive", arguments: seeds)
    func falseSuspicionRefuted(seed: UInt64) {
        var network = SWIMTestNetwork(names: ["n1", "n2", "n3", "n4"], seed: seed)
        network.run(for: 4000)
        let start = network.now
        // Messages to n2 are lost until someone suspects it.
        network.dropRule = { _, to in to == "n2" }
        let suspected = network.run(upTo: 10_000) { network in
            network.events.contains { $0.subject == "n2" && $0.to == .suspect && $0.at >= start }
        }
        #expect(suspected != nil)
        network.dropRule = nil
        network.run(for: 10_000)
        #expect(!network.events.contains { $0.subject == "n2" && $0.to == .dead })
        #expect(network.everyoneSees("n2", as: .alive))
        #expect(network.allRunningAgreeAlive)
        #expect((network.instance("n2")?.incarnation ?? 0) >= 1)
        #expect(network.instance("n1")?.member(named: "n2")?.incarnation == network.instance("n2")?.incarnation)
        #expect(network.eventsAreConsistent)
    }

    @Test("a killed member restarted at incarnation 0 rejoins and is alive everywhere", arguments: seeds)
    func restartRejoins(seed: UInt64) {
        for victim in ["n3", "n1"] {  // an ordinary member, and the seed everyone joined through
            var network = SWIMTestNetwork(names: ["n1", "n2", "n3", "n4"], seed: seed)
            network.run(for: 4000)
            network.kill(victim)
            #expect(network.run(upTo: 10_000) { $0.everyoneSees(victim, as: .dead) } != nil)
            network.run(for: 2000)
            network.restart(victim)
            let took = network.run(upTo: 10_000) { $0.allRunningAgreeAlive }
            #expect(took != nil, "\(victim) did not rejoin")
            #expect((took ?? .max) <= 5000, "\(victim) rejoined after \(took ?? 0) ms")
            // It had to refute the dead claim about its old life.
            #expect((network.instance(victim)?.incarnation ?? 0) >= 1)
            network.run(for: 5000)
            #expect(network.allRunningAgreeAlive)
            #expect(network.eventsAreConsistent)
        }
    }

    @Test("a member restarted with other metadata before anyone declared it dead: everyone learns the new metadata", arguments: seeds)
    func quickRestartWithNewMeta(seed: UInt64) {
        var network = SWIMTestNetwork(names: ["n1", "n2", "n3", "n4"], seed: seed)
        network.run(for: 4000)
        #expect(network.allRunningAgreeAlive)
        // Down for less than a probe round, back on another HTTP port at incarnation 0.
        network.kill("n3")
        network.run(for: 200)
        network.restart("n3", meta: "http://n3:9999")
        let took = network.run(upTo: 10_000) { network in
            ["n1", "n2", "n4"].allSatisfy { network.instance($0)?.member(named: "n3")?.meta == "http://n3:9999" }
        }
        #expect(took != nil, "the new metadata did not spread")
        #expect((network.instance("n3")?.incarnation ?? 0) >= 1, "n3 overrode the claim from its previous life")
        // Those who saw it change without a status change were told (metaChanged).
        let told = Set(network.metaChanges.filter { $0.subject == "n3" && $0.meta == "http://n3:9999" }.map(\.observer))
        let sawStatus = Set(network.events.filter { $0.subject == "n3" && $0.to == .alive && $0.from != nil }.map(\.observer))
        #expect(told.union(sawStatus).isSuperset(of: ["n1", "n2", "n4"]))
        network.run(for: 3000)
        #expect(network.allRunningAgreeAlive)
        #expect(network.eventsAreConsistent)
    }

    @Test("sides of a healed partition that declared each other dead merge again", arguments: seeds)
    func partitionHeals(seed: UInt64) {
        var network = SWIMTestNetwork(names: ["n1", "n2", "n3", "n4", "n5"], seed: seed)
        network.run(for: 4000)
        let left: Set<String> = ["n1", "n2"]
        network.dropRule = { from, to in left.contains(from) != left.contains(to) }
        network.run(for: 10_000)
        #expect(network.status(of: "n4", seenBy: "n1") == .dead)
        #expect(network.status(of: "n1", seenBy: "n4") == .dead)
        #expect(network.status(of: "n2", seenBy: "n1") == .alive)
        network.dropRule = nil
        let took = network.run(upTo: 20_000) { $0.allRunningAgreeAlive }
        #expect(took != nil)
        #expect((took ?? .max) <= 8000, "merged after \(took ?? 0) ms")
        #expect(network.eventsAreConsistent)
    }

    @Test("local health rises while a member is cut off and falls back after")
    func localHealthRisesAndFalls() {
        var network = SWIMTestNetwork(names: ["n1", "n2", "n3", "n4"], seed: 9)
        network.run(for: 4000)
        #expect(network.instance("n2")?.localHealth == 0)
        network.maxLocalHealth = [:]
        network.dropRule = { from, to in from == "n2" || to == "n2" }
        network.run(for: 3000)
        #expect((network.maxLocalHealth["n2"] ?? 0) >= 3)
        // Healthy members probing a dead n2 get nacks from each other: little penalty.
        #expect((network.maxLocalHealth["n1"] ?? 0) <= 2)
        network.dropRule = nil
        let recovered = network.run(upTo: 40_000) { $0.instance("n2")?.localHealth == 0 && $0.allRunningAgreeAlive }
        #expect(recovered != nil)
    }

    @Test("the same seed gives the same directive trace")
    func determinism() {
        func scenario(seed: UInt64) -> [String] {
            var network = SWIMTestNetwork(names: ["n1", "n2", "n3", "n4"], seed: seed)
            network.run(for: 3000)
            network.kill("n4")
            network.run(for: 6000)
            network.restart("n4")
            network.dropRule = { from, _ in from == "n2" }
            network.run(for: 700)
            network.dropRule = nil
            network.run(for: 6000)
            return network.trace
        }
        let first = scenario(seed: 42)
        let second = scenario(seed: 42)
        #expect(first.count > 200)
        #expect(first == second)
        #expect(scenario(seed: 43) != first)
    }
}
