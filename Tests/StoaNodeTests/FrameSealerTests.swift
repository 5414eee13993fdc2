import Testing
@testable import StoaNode

@Suite("Sealed cluster traffic (wire format 3)")
struct FrameSealerTests {
    let payload: [UInt8] = Array("quote: the marker 7f3e".utf8)

    @Test("a sealed frame opens for its destination with the same key, and its payload is not in clear")
    func sealOpen() {
        let sender = FrameSealer(clusterKey: "k1")
        let receiver = FrameSealer(clusterKey: "k1")
        for channel in [FrameSealer.Channel.datagram, .stream] {
            let frame = sender.seal(payload, to: "n2", on: channel)
            #expect(frame.count == payload.count + FrameSealer.overhead)
            #expect(frame[0] == FrameSealer.format)
            #expect(!contains(frame, payload))
            #expect(receiver.open(frame, as: "n2", on: channel) == .success(payload))
        }
        // Sealing the same payload twice gives different bytes (a new counter, a new nonce).
        #expect(sender.seal(payload, to: "n2", on: .stream) != sender.seal(payload, to: "n2", on: .stream))
    }

    @Test("another key, another destination, another channel, an altered byte: refused as authentication")
    func refusals() {
        let sender = FrameSealer(clusterKey: "k1")
        let frame = sender.seal(payload, to: "n2", on: .stream)
        #expect(FrameSealer(clusterKey: "k2").open(frame, as: "n2", on: .stream) == .failure(.authentication))
        #expect(FrameSealer(clusterKey: "k1").open(frame, as: "n3", on: .stream) == .failure(.authentication))
        #expect(FrameSealer(clusterKey: "k1").open(frame, as: "n2", on: .datagram) == .failure(.authentication))
        for index in [0, 1, 3, 10, 25, 30, frame.count - 1] {
            var altered = frame
            altered[index] ^= 0x01
            #expect(FrameSealer(clusterKey: "k1").open(altered, as: "n2", on: .stream) == .failure(.authentication), "byte \(index)")
        }
        #expect(FrameSealer(clusterKey: "k1").open(Array(frame.prefix(FrameSealer.overhead - 1)), as: "n2", on: .stream) == .failure(.authentication))
        // A datagram sealed for n2 is refused by n3; one for `*` (a join ping) opens anywhere.
        let named = sender.seal(payload, to: "n2", on: .datagram)
        #expect(FrameSealer(clusterKey: "k1").open(named, as: "n3", on: .datagram) == .failure(.authentication))
        let wildcard = sender.seal(payload, to: nil, on: .datagram)
        #expect(FrameSealer(clusterKey: "k1").open(wildcard, as: "n3", on: .datagram) == .success(payload))
    }

    @Test("a datagram or frame opened once is refused as a replay after; reordering within the window is accepted")
    func replay() {
        let sender = FrameSealer(clusterKey: "k1")
        let receiver = FrameSealer(clusterKey: "k1")
        for channel in [FrameSealer.Channel.datagram, .stream] {
            let first = sender.seal(payload, to: "n2", on: channel)
            let second = sender.seal(payload, to: "n2", on: channel)
            #expect(receiver.open(second, as: "n2", on: channel) == .success(payload))
            #expect(receiver.open(first, as: "n2", on: channel) == .success(payload))
            #expect(receiver.open(first, as: "n2", on: channel) == .failure(.replay))
            #expect(receiver.open(second, as: "n2", on: channel) == .failure(.replay))
        }
        // Below the window: refused even though never seen.
        let old = sender.seal(payload, to: "n2", on: .datagram)
        for _ in 0..<ReplayWindow.width {
            _ = receiver.open(sender.seal(payload, to: "n2", on: .datagram), as: "n2", on: .datagram)
        }
        #expect(receiver.open(old, as: "n2", on: .datagram) == .failure(.replay))
        // A forged frame with a replayed header is still an authentication failure.
        var forged = sender.seal(payload, to: "n2", on: .stream)
        _ = receiver.open(forged, as: "n2", on: .stream)
        forged[forged.count - 1] ^= 1
        #expect(receiver.open(forged, as: "n2", on: .stream) == .failure(.authentication))
    }

    @Test("the replay window accepts each counter once, tolerates reordering within 64, refuses below it")
    func window() {
        var window = ReplayWindow()
        let counters: [UInt64] = [0, 5, 3, 3, 5, 200, 136, 137, 199, 199]
        let accepted = counters.map { window.accept($0) }
        #expect(accepted == [false, true, true, false, false, true, false, true, true, false])
        #expect(window.highest == 200)
    }

    @Test("rotation: a secondary key is accepted, only the primary seals; a removed key is refused")
    func rotation() {
        let oldOnly = FrameSealer(keyring: ClusterKeyring(keys: ["old"]))
        let both = FrameSealer(keyring: ClusterKeyring(keys: ["old", "new"]))
        let newFirst = FrameSealer(keyring: ClusterKeyring(keys: ["new", "old"]))
        // Step 1: `new` added as secondary; everyone still seals with `old`.
        #expect(both.open(oldOnly.seal(payload, to: "n2", on: .stream), as: "n2", on: .stream) == .success(payload))
        #expect(oldOnly.open(both.seal(payload, to: "n2", on: .stream), as: "n2", on: .stream) == .success(payload))
        // Step 2: `new` primary on one node: the others, holding it as secondary, accept.
        let sealedWithNew = newFirst.seal(payload, to: "n2", on: .datagram)
        #expect(both.open(sealedWithNew, as: "n2", on: .datagram) == .success(payload))
        #expect(oldOnly.open(newFirst.seal(payload, to: "n2", on: .datagram), as: "n2", on: .datagram) == .failure(.authentication))
        // Step 3: `old` removed by a reload: frames sealed with it are refused.
        let sealedWithOld = both.seal(payload, to: "n2", on: .stream)
        let reloaded = FrameSealer(keyring: ClusterKeyring(keys: ["new", "old"]))
        reloaded.keyring.replace(keys: ["new"])
        #expect(reloaded.keyring.primary == ClusterKey("new"))
        #expect(reloaded.open(sealedWithOld, as: "n2", on: .stream) == .failure(.authentication))
        #expect(reloaded.open(newFirst.seal(payload, to: "n2", on: .stream), as: "n2", on: .stream) == .success(payload))
        // An empty reload changes nothing.
        #expect(!reloaded.keyring.replace(keys: ["", ""]))
        #expect(reloaded.keyring.keys == [ClusterKey("new")])
        // A sender whose primary changes keeps sealing with its session, under the new key.
        let sender = FrameSealer(keyring: ClusterKeyring(keys: ["old"]))
        sender.keyring.replace(keys: ["new", "old"])
        #expect(FrameSealer(clusterKey: "new").open(sender.seal(payload, to: "n2", on: .stream), as: "n2", on: .stream) == .success(payload))
    }

    @Test("sessions tracked are bounded: past the capacity the least recently used is forgotten")
    func sessionBound() {
        let receiver = FrameSealer(keyring: ClusterKeyring(keys: ["k"]), maxSessions: 2)
        let senders = (0..<3).map { _ in FrameSealer(clusterKey: "k") }
        let replayed = senders[0].seal(payload, to: "n", on: .stream)
        #expect(receiver.open(replayed, as: "n", on: .stream) == .success(payload))
        #expect(receiver.open(replayed, as: "n", on: .stream) == .failure(.replay))
        for sender in senders.dropFirst() {
            #expect(receiver.open(sender.seal(payload, to: "n", on: .stream), as: "n", on: .stream) == .success(payload))
        }
        // Session 0 was the least recently used of three: forgotten (documented limit).
        #expect(receiver.open(replayed, as: "n", on: .stream) == .success(payload))
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
