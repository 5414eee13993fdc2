import Crypto
import Foundation

/// Authenticates cluster traffic with the shared cluster key: a sealed frame is the payload
/// followed by its 32-byte HMAC-SHA256 tag. A frame whose tag does not verify is rejected.
///
/// Integrity and authenticity only: payloads are not encrypted (loopback and private networks;
/// put cluster traffic on a private network or behind a VPN otherwise).
public struct FrameSealer: Sendable {
    static let tagLength = 32
    private let key: SymmetricKey

    /// - Parameter clusterKey: any non-empty secret; the HMAC key is its SHA-256.
    public init(clusterKey: String) {
        key = SymmetricKey(data: SHA256.hash(data: Data(clusterKey.utf8)))
    }

    public func seal(_ payload: [UInt8]) -> [UInt8] {
        payload + Array(HMAC<SHA256>.authenticationCode(for: payload, using: key))
    }

    /// The payload of a sealed frame, or nil when it is too short or its tag does not verify.
    public func open(_ frame: [UInt8]) -> [UInt8]? {
        guard frame.count > Self.tagLength else { return nil }
        let payload = Array(frame.dropLast(Self.tagLength))
        let tag = frame.suffix(Self.tagLength)
        guard HMAC<SHA256>.isValidAuthenticationCode(tag, authenticating: payload, using: key) else { return nil }
        return payload
    }
}
