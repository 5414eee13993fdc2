import StoaCore
import Testing
@testable import StoaSimulator

@Suite("Simulated clocks and network")
struct ClockAndNetworkTests {
    @Test("the wall clock has offset, drift and jumps; the monotonic clock only drift")
    func clocks() {
        let time = SimulatedTime()
        let clock = SimulatedClock(time: time, offsetMillis: 500, driftPPM: 1000, monotonicBase: 7)
        #expect(clock.wallMillis == UInt64(SimulatedClock.epochMillis + 500))
        #expect(clock.monotonicMillis == 7)
        time.advance(to: 10_000)
        #expect(clock.wallMillis == UInt64(SimulatedClock.epochMillis + 10_000 + 500 + 10))
        #expect(clock.monotonicMillis == 7 + 10_010)
        clock.jump(byMillis: -60_000)
        #expect(clock.wallMillis == UInt64(SimulatedClock.epochMillis + 10_000 + 500 + 10 - 60_000))
        #expect(clock.monotonicMillis == 7 + 10_010)
        time.advance(to: 5)  // never backwards
        #expect(time.now == 10_000)
    }

    @Test("cut links drop in both directions only when symmetric; restored links carry again")
    func cuts() {
        var network = SimulatedNetwork(faults: FaultModel(), names: ["n1", "n2", "n3"], seed: 1)
        network.cut(DirectedLink.all(from: ["n1"], to: ["n2"]))
        let forward = network.transmit(from: 0, to: 1, byteCount: 1)
        let backward = network.transmit(from: 1, to: 0, byteCount: 1)
        #expect(forward == .cut)
        if case .delivered = backward {} else { Issue.record("reverse direction cut") }
        let admitted = [
            network.admit(from: 0, to: 1, targetUp: true), network.admit(from: 1, to: 0, targetUp: true),
            network.admit(from: 1, to: 0, targetUp: false),
        ]
        #expect(admitted == [false, true, false])
        network.restore(DirectedLink.all(from: ["n1"], to: ["n2"]))
        let again = network.transmit(from: 0, to: 1, byteCount: 1)
        if case .delivered = again {} else { Issue.record("restored link still cut") }
        network.cut(DirectedLink.cuts(between: [["n1"]], nodes: ["n1", "n2", "n3"]))
        #expect(network.cutLinks.count == 4)
        network.healAll()
        #expect(network.cutLinks.isEmpty)
        #expect(network.statistics.cut == 2)
        #expect(network.statistics.toDownNode == 1)
    }

    @Test("delays stay within their distribution's bounds", arguments: [
        DelayDistribution.constant(3), .uniform(min: 2, max: 9), .exponential(min: 1, mean: 5, max: 40),
    ])
    func delays(_ distribution: DelayDistribution) {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<2000 {
            let delay = distribution.sample(&rng)
            switch distribution {
            case .constant(let millis): #expect(delay == millis)
            case .uniform(let low, let high): #expect((low...high).contains(delay))
            case .exponential(let low, _, let high): #expect((low...high).contains(delay))
            }
        }
    }

    @Test("the series logarithm matches known values")
    func logarithm() {
        #expect(abs(PortableMath.naturalLog(1)) < 1e-15)
        #expect(abs(PortableMath.naturalLog(2.718281828459045) - 1) < 1e-14)
        #expect(abs(PortableMath.naturalLog(0.001) + 6.907755278982137) < 1e-12)
        #expect(PortableMath.naturalLog(0).isNaN)
    }
}
