import Crypto
import Foundation
import JWTKit

/// Issues and verifies PocketBase-style auth tokens: HS256 JWTs carrying `id`, `type`,
/// `collectionId`, `exp` and `refreshable`, signed with the node's (later: the cluster's) secret.
public struct TokenService: Sendable {
    /// The claims PocketBase puts in a record auth token.
    struct Claims: JWTPayload, Equatable {
        var id: String
        var type: String
        var collectionId: String
        var exp: ExpirationClaim
        var refreshable: Bool

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    private let keys: JWTKeyCollection
    /// How long an issued token is valid (PocketBase's default for auth records: 5 days).
    public let lifetime: TimeInterval

    /// - Parameter secret: any non-empty string; the HMAC key is its SHA-256, so short secrets
    ///   still give a full-size key (a short secret is still a weak one).
    public init(secret: String, lifetime: TimeInterval = 432_000) async {
        keys = JWTKeyCollection()
        let key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8)))
        await keys.add(hmac: HMACKey(key: key), digestAlgorithm: .sha256)
        self.lifetime = lifetime
    }

    /// A signed token for user `userID` of collection `collectionID`.
    public func issue(userID: String, collectionID: String, now: Date = Date()) async throws -> String {
        try await keys.sign(Claims(
            id: userID, type: "auth", collectionId: collectionID,
            exp: ExpirationClaim(value: Date(timeIntervalSince1970: (now.timeIntervalSince1970 + lifetime).rounded(.down))), refreshable: true
        ))
    }

    /// The identity in `header` (an `Authorization` value, with or without `Bearer `), or nil when
    /// it is empty, malformed, forged, expired or not an auth token.
    public func identity(fromAuthorization header: String?) async -> AuthIdentity? {
        guard var token = header?.trimmingCharacters(in: .whitespaces), !token.isEmpty else { return nil }
        if token.count > 7, token.prefix(7).lowercased() == "bearer " {
            token = String(token.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        guard token.utf8.count <= 4096, let claims = try? await keys.verify(token, as: Claims.self), claims.type == "auth" else {
            return nil
        }
        return AuthIdentity(userID: claims.id, collectionID: claims.collectionId, refreshable: claims.refreshable)
    }
}
