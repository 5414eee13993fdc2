import Crypto
import Foundation

/// One cluster key of a ``ClusterKeyring``: the secret an operator configures and the 4-byte id
/// that names it in every sealed frame (so a receiver holding several keys tries only one).
///
/// The id is the first 4 bytes of SHA-256("stoa-v3 key id" + secret): it tells keys apart
/// without being the secret's plain hash. The secret itself is only input to HKDF
/// (``FrameSealer``); it never crosses the wire.
public struct ClusterKey: Sendable, Hashable {
    /// The secret as configured (UTF-8 of `--cluster-key`, or one line of the key file).
    let secret: [UInt8]
    /// First 4 bytes of SHA-256("stoa-v3 key id" + secret).
    public let id: UInt32

    /// - Precondition: `secret` is not empty (the CLI refuses empty keys).
    public init(_ secret: String) {
        precondition(!secret.isEmpty, "a cluster key is never empty")
        self.secret = Array(secret.utf8)
        let digest = Array(SHA256.hash(data: Array("stoa-v3 key id".utf8) + self.secret))
        id = digest.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The id as 8 lowercase hex digits (as `/api/cluster` shows it).
    public var idHex: String { String(format: "%08x", id) }

    /// The key of one sender session on one channel:
    /// HKDF-SHA256(secret, salt "stoa-cluster-v3", info "stoa-v3" + channel byte + session id).
    func derive(session: [UInt8], channel: FrameSealer.Channel) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: secret), salt: Array("stoa-cluster-v3".utf8),
            info: Array("stoa-v3".utf8) + [channel.rawValue] + session, outputByteCount: 32
        )
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.secret == rhs.secret }
    public func hash(into hasher: inout Hasher) { hasher.combine(secret) }
}
