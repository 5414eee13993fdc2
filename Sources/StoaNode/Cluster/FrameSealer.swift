import Crypto
import Foundation
import Synchronization

/// Seals and opens cluster traffic (wire format 3): every SWIM datagram and every stream frame
/// is encrypted and authenticated with ChaCha20-Poly1305 under a key derived from the cluster key.
///
/// Sealed frame: `[format 3][kind][key id: 4][session: 16][counter: 8][ciphertext][tag: 16]`
/// (``overhead`` = 46 bytes more than the payload).
/// - *kind*: 0 a datagram to a named member, 1 a datagram to `*` (destination not known yet: a
///   join ping to a seed address), 2 a stream frame (always to a named member).
/// - *key id*: ``ClusterKey/id`` of the sender's primary key; the receiver opens with its key of
///   that id, so every key of its ``ClusterKeyring`` is accepted.
/// - *session*: 16 random bytes the process picks at start. The key is
///   HKDF-SHA256(cluster key, salt "stoa-cluster-v3", info "stoa-v3" + channel + session): a
///   subkey per process and channel, never shared with another sender.
/// - *counter*: the nonce is 4 zero bytes + this 8-byte counter, strictly increasing per
///   (session, channel) from 1, so a nonce never repeats under one key.
/// - associated data: the 30 header bytes + the destination member's name (`*` for kind 1), so
///   a frame sealed for `n2` does not open on `n3`, and no header byte can be altered.
///
/// Opening refuses (``Failure/authentication``) a frame of another format or kind than the
/// channel expects, of an unknown key id, or whose tag does not verify for this receiver; and
/// (``Failure/replay``) one that authenticates but whose counter the session's
/// ``ReplayWindow`` already accepted or left behind. Receive state is kept per (key, session,
/// channel) in ``SessionWindows`` (LRU, `maxSessions`).
///
/// What is not prevented: a process that restarts forgets its windows, so traffic captured
/// before its restart can be replayed to it once (until the key is rotated away). A `*`
/// datagram opens on any member that holds the key, so a captured join ping can be replayed
/// once to each member (it only announces the sender as alive at an incarnation it had).
public final class FrameSealer: Sendable {
    /// Which channel a frame travels on; part of the key derivation, so a datagram cannot be
    /// replayed as a stream frame or the other way round.
    public enum Channel: UInt8, Sendable, Hashable {
        case datagram = 1
        case stream = 2
    }

    /// Why a frame was refused.
    public enum Failure: Error, Sendable, Equatable {
        /// Not a format-3 frame of this channel, an unknown key, or a tag that does not verify
        /// (another key, another destination, altered bytes).
        case authentication
        /// Authentic, but its counter was already accepted (or is below the window).
        case replay
    }

    public static let format: UInt8 = 3
    /// The destination of a datagram sent before the receiver's name is known.
    public static let anyDestination = "*"
    static let headerLength = 30
    static let tagLength = 16
    /// Bytes a sealed frame has beyond its payload.
    public static let overhead = headerLength + tagLength

    private enum Kind: UInt8 {
        case namedDatagram = 0
        case anyDatagram = 1
        case stream = 2
    }

    public let keyring: ClusterKeyring
    /// This process's session id (16 random bytes unless given).
    public let session: [UInt8]
    private let datagramCounter = Atomic<UInt64>(0)
    private let streamCounter = Atomic<UInt64>(0)
    /// Sending keys of this session, by (key id, channel).
    private let sendKeys = Mutex<[UInt64: SymmetricKey]>([:])
    private let windows: Mutex<SessionWindows>

    /// - Parameters:
    ///   - session: 16 bytes; random by default (tests pass one to replay a session).
    ///   - maxSessions: sender sessions whose replay windows are kept (LRU).
    public init(keyring: ClusterKeyring, session: [UInt8]? = nil, maxSessions: Int = 1024) {
        self.keyring = keyring
        var rng = SystemRandomNumberGenerator()
        let session = session ?? (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        precondition(session.count == 16, "a session id is 16 bytes")
        self.session = session
        windows = Mutex(SessionWindows(capacity: maxSessions))
    }

    /// A sealer holding one key.
    public convenience init(clusterKey: String) {
        self.init(keyring: ClusterKeyring(keys: [clusterKey]))
    }

    /// Seals `payload` for the member named `destination` (nil: `*`, datagrams only) under the
    /// primary key, with this session's next counter on `channel`.
    public func seal(_ payload: [UInt8], to destination: String?, on channel: Channel) -> [UInt8] {
        precondition(destination != nil || channel == .datagram, "stream frames always have a named destination")
        let primary = keyring.primary
        let kind: Kind = channel == .stream ? .stream : (destination == nil ? .anyDatagram : .namedDatagram)
        let counter = channel == .stream
            ? streamCounter.wrappingAdd(1, ordering: .relaxed).newValue
            : datagramCounter.wrappingAdd(1, ordering: .relaxed).newValue
        precondition(counter != 0, "counter exhausted")
        var header: [UInt8] = [Self.format, kind.rawValue]
        header.reserveCapacity(Self.headerLength)
        Self.append(primary.id, to: &header)
        header += session
        Self.append(counter, to: &header)
        let associated = header + Array((destination ?? Self.anyDestination).utf8)
        let key = sendKey(primary, channel)
        // Sealing only fails on a malformed nonce or key, which cannot happen here.
        let box = try! ChaChaPoly.seal(payload, using: key, nonce: Self.nonce(counter), authenticating: associated)
        return header + box.ciphertext + box.tag
    }

    /// The payload of a frame sealed for `receiver` (this process's member name) on `channel`.
    ///
    /// Thread-safe; a counter is accepted once even when the same frame is opened concurrently.
    public func open(_ frame: [UInt8], as receiver: String, on channel: Channel) -> Result<[UInt8], Failure> {
        guard frame.count >= Self.overhead, frame[0] == Self.format, let kind = Kind(rawValue: frame[1]),
              (kind == .stream) == (channel == .stream) else { return .failure(.authentication) }
        let keyID = Self.read(UInt32.self, frame, at: 2)
        guard let clusterKey = keyring.key(id: keyID) else { return .failure(.authentication) }
        let session = Array(frame[6..<22])
        let counter = Self.read(UInt64.self, frame, at: 22)
        guard counter > 0 else { return .failure(.authentication) }
        let id = SessionWindows.ID(keyID: keyID, session: session, channel: channel)
        let key = windows.withLock { $0.key(id) } ?? clusterKey.derive(session: session, channel: channel)
        let destination = kind == .anyDatagram ? Self.anyDestination : receiver
        let header = frame[0..<Self.headerLength]
        let payload: [UInt8]
        do {
            let box = try ChaChaPoly.SealedBox(
                nonce: Self.nonce(counter), ciphertext: frame[Self.headerLength..<(frame.count - Self.tagLength)],
                tag: frame[(frame.count - Self.tagLength)...]
            )
            payload = Array(try ChaChaPoly.open(box, using: key, authenticating: Array(header) + Array(destination.utf8)))
        } catch {
            return .failure(.authentication)
        }
        guard windows.withLock({ $0.accept(counter, for: id, key: key) }) else { return .failure(.replay) }
        return .success(payload)
    }

    private func sendKey(_ key: ClusterKey, _ channel: Channel) -> SymmetricKey {
        let slot = UInt64(key.id) << 8 | UInt64(channel.rawValue)
        if let known = sendKeys.withLock({ $0[slot] }) { return known }
        let derived = key.derive(session: session, channel: channel)
        sendKeys.withLock { $0[slot] = derived }
        return derived
    }

    private static func nonce(_ counter: UInt64) -> ChaChaPoly.Nonce {
        var bytes: [UInt8] = [0, 0, 0, 0]
        append(counter, to: &bytes)
        return try! ChaChaPoly.Nonce(data: bytes)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
    }

    private static func read<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        bytes[offset..<(offset + MemoryLayout<T>.size)].reduce(0) { $0 << 8 | T($1) }
    }
}
