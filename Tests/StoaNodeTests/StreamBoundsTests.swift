import NIOCore
import Testing
@testable import StoaNode

/// The pure parts of the gossip port's bounds: deadlines (``StreamGuard``), admission
/// (``StreamAdmission``), frame splitting (``FrameSplitter``) and the incomplete-frame budget.
@Suite("Gossip stream bounds: deadlines, admission, frame splitting, budget")
struct StreamBoundsTests {
    static let limits = StreamLimits(
        maxConnections: 10, maxUnauthenticatedPerAddress: 2, maxUnauthenticated: 3, maxUnauthenticatedFrameBytes: 1000,
        helloTimeout: .seconds(5), frameTimeout: .seconds(30), idleTimeout: .seconds(120), maxIncompleteFrameBytes: 10_000
    )

    static func at(_ seconds: Double) -> NIODeadline { .uptimeNanoseconds(UInt64(1_000_000_000 + seconds * 1e9)) }

    // MARK: - StreamGuard

    @Test("the first frame must authenticate within the hello timeout; until then frames are small")
    func helloDeadline() {
        var guardState = StreamGuard(limits: Self.limits, maxFrameBytes: 8 << 20, acceptedAt: Self.at(0))
        #expect(guardState.maxFrameBytes == 1000)
        #expect(guardState.nextDeadline?.at == Self.at(5))
        #expect(guardState.expired(now: Self.at(4.999)) == nil)
        // Bytes do not move the hello deadline, nor does a pause (nothing is handed on yet).
        guardState.received(now: Self.at(3), completedFrames: 0, incompleteBytes: 10)
        guardState.pause()
        #expect(!guardState.isPaused)
        #expect(guardState.expired(now: Self.at(5)) == .hello)

        var authenticated = StreamGuard(limits: Self.limits, maxFrameBytes: 8 << 20, acceptedAt: Self.at(0))
        authenticated.received(now: Self.at(1), completedFrames: 1, incompleteBytes: 0)
        authenticated.authenticated(now: Self.at(1))
        #expect(authenticated.maxFrameBytes == 8 << 20)
        #expect(authenticated.expired(now: Self.at(6)) == nil)
        #expect(authenticated.nextDeadline?.expiry == .idle)
    }

    @Test("a started frame must complete within the frame timeout of its first byte; trickled bytes do not extend it")
    func frameDeadline() {
        var guardState = StreamGuard(limits: Self.limits, maxFrameBytes: 8 << 20, acceptedAt: Self.at(0))
        guardState.authenticated(now: Self.at(0))
        guardState.received(now: Self.at(1), completedFrames: 0, incompleteBytes: 100)
        #expect(guardState.nextDeadline?.at == Self.at(31))
        #expect(guardState.nextDeadline?.expiry == .frame)
        for second in 2...30 { guardState.received(now: Self.at(Double(second)), completedFrames: 0, incompleteBytes: 100 + second) }
        #expect(guardState.expired(now: Self.at(30.9)) == nil)
        #expect(guardState.expired(now: Self.at(31)) == .frame)

        // A read that completes the frame and starts the next one starts a new deadline.
        guardState.received(now: Self.at(30.5), completedFrames: 1, incompleteBytes: 7)
        #expect(guardState.nextDeadline?.at == Self.at(60.5))
        // Nothing held: the idle deadline runs from the last bytes.
        guardState.received(now: Self.at(40), completedFrames: 1, incompleteBytes: 0)
        #expect(guardState.nextDeadline?.at == Self.at(160))
        #expect(guardState.nextDeadline?.expiry == .idle)
        #expect(guardState.expired(now: Self.at(159)) == nil)
        #expect(guardState.expired(now: Self.at(160)) == .idle)
    }

    @Test("while the node does not read a connection its deadlines wait, and start again when reading resumes")
    func pausedReading() {
        var guardState = StreamGuard(limits: Self.limits, maxFrameBytes: 8 << 20, acceptedAt: Self.at(0))
        guardState.authenticated(now: Self.at(0))
        guardState.received(now: Self.at(1), completedFrames: 3, incompleteBytes: 500)
        guardState.pause()
        #expect(guardState.nextDeadline == nil)
        #expect(guardState.expired(now: Self.at(500)) == nil)
        guardState.resume(now: Self.at(500))
        #expect(guardState.nextDeadline?.at == Self.at(530))
        #expect(guardState.nextDeadline?.expiry == .frame)

        var idle = StreamGuard(limits: Self.limits, maxFrameBytes: 8 << 20, acceptedAt: Self.at(0))
        idle.authenticated(now: Self.at(0))
        idle.pause()
        idle.resume(now: Self.at(300))
        #expect(idle.nextDeadline?.at == Self.at(420))
        #expect(idle.nextDeadline?.expiry == .idle)
    }

    // MARK: - StreamAdmission

    @Test("a new unauthenticated connection over its address's limit closes that address's oldest; other addresses keep theirs")
    func perAddress() {
        var admission = StreamAdmission(limits: Self.limits)
        #expect(admission.admit(1, address: "10.0.0.9") == .admitted(evicting: []))
        #expect(admission.admit(2, address: "10.0.0.9") == .admitted(evicting: []))
        #expect(admission.admit(3, address: "10.0.0.9") == .admitted(evicting: [.init(id: 1, reason: .addressLimit)]))
        #expect(admission.unauthenticated.map(\.id) == [2, 3])
        // The peer's connection, from the same address, gets in and authenticates.
        #expect(admission.admit(4, address: "10.0.0.9") == .admitted(evicting: [.init(id: 2, reason: .addressLimit)]))
        #expect(admission.authenticate(4) == true)
        let evictedAuthenticated = admission.authenticate(2)
        #expect(!evictedAuthenticated, "an evicted connection cannot authenticate")
        admission.closed(2)
        #expect(admission.unauthenticated.map(\.id) == [3])
        #expect(admission.authenticated == [4])
    }

    @Test("over the unauthenticated limit in all the oldest closes; authenticated connections are never evicted; over the connection limit a new one is refused")
    func totals() {
        var admission = StreamAdmission(limits: Self.limits)
        #expect(admission.admit(1, address: "a") == .admitted(evicting: []))
        #expect(admission.authenticate(1) == true)
        #expect(admission.admit(2, address: "b") == .admitted(evicting: []))
        #expect(admission.admit(3, address: "c") == .admitted(evicting: []))
        #expect(admission.admit(4, address: "d") == .admitted(evicting: []))
        #expect(admission.admit(5, address: "e") == .admitted(evicting: [.init(id: 2, reason: .unauthenticatedLimit)]))
        #expect(admission.openCount == 4)
        for id in 3...5 { #expect(admission.authenticate(StreamAdmission.ID(id)) == true) }
        for id in 6...11 {
            #expect(admission.admit(StreamAdmission.ID(id), address: "f\(id)") != .refused)
            #expect(admission.authenticate(StreamAdmission.ID(id)) == true)
        }
        #expect(admission.openCount == 10)
        #expect(admission.admit(12, address: "g") == .refused)
        admission.closed(7)
        #expect(admission.admit(13, address: "g") == .admitted(evicting: []))
    }

    @Test("connections count against their IPv4 address, or the /64 of an IPv6 one")
    func addressKeys() throws {
        #expect(StreamConnectionRegistry.addressKey(try SocketAddress(ipAddress: "10.1.2.3", port: 1)) == "10.1.2.3")
        let first = StreamConnectionRegistry.addressKey(try SocketAddress(ipAddress: "2001:db8:0:7::1", port: 1))
        #expect(first == StreamConnectionRegistry.addressKey(try SocketAddress(ipAddress: "2001:db8:0:7:ffff::9", port: 2)))
        #expect(first != StreamConnectionRegistry.addressKey(try SocketAddress(ipAddress: "2001:db8:0:8::1", port: 1)))
        #expect(StreamConnectionRegistry.addressKey(try SocketAddress(ipAddress: "::ffff:10.1.2.3", port: 1)) == "10.1.2.3")
        #expect(StreamConnectionRegistry.addressKey(nil) == "")
    }

    // MARK: - FrameSplitter

    static func frame(_ payload: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init) + payload
    }

    @Test("frames split the same whether bytes come one at a time or all at once")
    func splitting() throws {
        let payloads: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 7, count: 300), [9]]
        let stream = payloads.flatMap(Self.frame)
        for chunk in [1, 2, 5, 64, stream.count] {
            var splitter = FrameSplitter()
            var frames: [[UInt8]] = []
            var offset = 0
            while offset < stream.count {
                splitter.append(ByteBuffer(bytes: stream[offset..<min(stream.count, offset + chunk)]))
                offset += chunk
                while let frame = try splitter.next(maxFrameBytes: 1000) { frames.append(Array(frame.readableBytesView)) }
            }
            #expect(frames == payloads, "chunks of \(chunk)")
            #expect(splitter.bufferedBytes == 0)
        }
    }

    @Test("a length over the limit is refused as soon as its four bytes are in; the limit may rise between frames")
    func limits() throws {
        var splitter = FrameSplitter()
        splitter.append(ByteBuffer(bytes: Self.frame([1, 2]) + [0, 0]))
        #expect(try splitter.next(maxFrameBytes: 2).map { Array($0.readableBytesView) } == [1, 2])
        #expect(try splitter.next(maxFrameBytes: 2) == nil)
        splitter.append(ByteBuffer(bytes: [0x20, 0x00]))   // 8 KiB declared
        #expect(throws: FrameSplitter.FrameTooLarge(length: 8192, limit: 1000)) { try splitter.next(maxFrameBytes: 1000) }
        #expect(try splitter.next(maxFrameBytes: 8192) == nil)
        #expect(splitter.bufferedBytes == 4)
    }

    // MARK: - FrameByteBudget

    @Test("the incomplete-frame budget never lends more than its limit")
    func budget() {
        let budget = FrameByteBudget(limit: 100)
        #expect(budget.reserve(60))
        #expect(!budget.reserve(41))
        #expect(budget.reserve(40))
        #expect(!budget.reserve(1))
        budget.release(60)
        #expect(budget.bytesHeld == 40)
        #expect(budget.reserve(60))
    }
}
