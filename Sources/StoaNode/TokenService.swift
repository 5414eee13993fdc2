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
    /// Tokens verified before (checked against their expiry on every use).
    let verified = VerifiedTokenCache()
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
    /// it is empty, malformed, forged, expired at `now` or not an auth token. A token that
    /// verified is remembered until it expires (``VerifiedTokenCache``), so a client's next
    /// requests skip the signature check.
    public func identity(fromAuthorization header: String?, now: Date = Date()) async -> AuthIdentity? {
        guard let text = Self.token(fromAuthorization: header) else { return nil }
        if let known = verified.identity(of: text, now: now) { return known }
        guard let claims = try? await keys.verify(text, as: Claims.self), claims.type == "auth", claims.exp.value > now else {
            return nil
        }
        let identity = AuthIdentity(userID: claims.id, collectionID: claims.collectionId, refreshable: claims.refreshable)
        verified.remember(text, identity: identity, expires: claims.exp.value)
        return identity
    }

    /// The identity of a token that verified before and has not expired at `now`, found without
    /// verifying anything (no task needed); nil when the header carries no such token, and
    /// ``identity(fromAuthorization:now:)`` then decides.
    public func rememberedIdentity(fromAuthorization header: String?, now: Date = Date()) -> AuthIdentity? {
        guard let text = Self.token(fromAuthorization: header) else { return nil }
        return verified.identity(of: text, now: now)
    }

    /// The token in an `Authorization` value (with or without `Bearer `), or nil when there is
    /// none or it is longer than 4096 bytes.
    static func token(fromAuthorization header: String?) -> String? {
        guard let header else { return nil }
        var token = Self.trimmed(Substring(header))
        if token.utf8.count > 7, token.prefix(7).lowercased() == "bearer " {
            token = Self.trimmed(token.dropFirst(7))
        }
        guard !token.isEmpty, token.utf8.count <= 4096 else { return nil }
        return String(token)
    }

    /// `text` without leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else { return "" }
        return text[first...last]
    }
}
