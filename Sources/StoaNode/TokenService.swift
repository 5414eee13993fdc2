import Crypto
import Foundation
import JWTKit

/// Issues and verifies PocketBase-style tokens: HS256 JWTs signed with the cluster's token
/// secret. Auth tokens carry `id`, `type` (`auth`), `collectionId`, `exp` and `refreshable`;
/// the one-time tokens of account mail (``Action``) carry `id`, `type`, `collectionId`, `email`
/// (and `newEmail` for an email change) and `exp`.
///
/// Every token also carries `tk`, a fingerprint of the user's token key (PocketBase's
/// `tokenKey`, a hidden field of the user record that replicates with it). A node that knows
/// the users (``init(secret:lifetime:tokenKeys:)`` with a lookup) accepts a token only while
/// the fingerprint matches the user's current key, so rotating the key — a password change does
/// it — refuses every token issued before, on every node the edit has reached. PocketBase puts
/// the key into the signing key instead; a fingerprint claim gives the same refusal while a
/// gateway, which holds the secret but not the users, can still tell who a token belongs to.
public struct TokenService: Sendable {
    /// The claims PocketBase puts in a record auth token, plus the token-key fingerprint.
    struct Claims: JWTPayload, Equatable {
        var id: String
        var type: String
        var collectionId: String
        var exp: ExpirationClaim
        var refreshable: Bool
        var tk: String?

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    /// The claims of a one-time account-mail token (PocketBase's `passwordReset`,
    /// `verification` and `emailChange` tokens), plus the token-key fingerprint.
    public struct ActionClaims: JWTPayload, Equatable {
        public var id: String
        public var type: String
        public var collectionId: String
        /// The user's email when the token was issued: the token is refused once it changed.
        public var email: String
        /// The address an email-change token moves the account to.
        public var newEmail: String?
        public var tk: String
        public var exp: ExpirationClaim

        public func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    /// The kinds of one-time token account mail carries, with PocketBase's type names and
    /// default lifetimes.
    public enum Action: String, Sendable, CaseIterable {
        case passwordReset, verification, emailChange

        /// PocketBase's defaults: 30 minutes, 3 days, 30 minutes.
        public var defaultLifetime: TimeInterval {
            switch self {
            case .passwordReset: 1800
            case .verification: 259_200
            case .emailChange: 1800
            }
        }
    }

    /// Looks up an account's current token key by its auth collection's id (`users` or
    /// `_superusers`) and record id; nil when this node holds no such live account (yet): a
    /// token for it is then judged by its signature alone, as no change of that account can have
    /// reached this node either.
    public typealias TokenKeyLookup = @Sendable (_ collectionID: String, _ userID: String) async throws -> String?

    private let keys: JWTKeyCollection
    /// Tokens verified before (checked against their expiry on every use; a user's are
    /// forgotten when the user record changes: ``forgetTokens(ofUser:)``).
    let verified = VerifiedTokenCache()
    /// How long an issued token is valid (PocketBase's default for auth records: 5 days).
    public let lifetime: TimeInterval
    private let tokenKeys: TokenKeyLookup?

    /// - Parameters:
    ///   - secret: any non-empty string; the HMAC key is its SHA-256, so short secrets still
    ///     give a full-size key (a short secret is still a weak one).
    ///   - tokenKeys: the users' current token keys; when given, a token of a user this node
    ///     holds is accepted only while its `tk` matches the user's key. Without it (a gateway)
    ///     the signature and expiry alone decide.
    public init(secret: String, lifetime: TimeInterval = 432_000, tokenKeys: TokenKeyLookup? = nil) async {
        keys = JWTKeyCollection()
        let key = SymmetricKey(data: SHA256.hash(data: Data(secret.utf8)))
        await keys.add(hmac: HMACKey(key: key), digestAlgorithm: .sha256)
        self.lifetime = lifetime
        self.tokenKeys = tokenKeys
    }

    /// The `tk` claim for a token key: 16 bytes of its SHA-256, base64url. It tells nothing of
    /// the key, and forging a token still needs the secret.
    public static func fingerprint(ofTokenKey tokenKey: String) -> String {
        Data(SHA256.hash(data: Data(("stoa.tokenKey\u{0}" + tokenKey).utf8)).prefix(16)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// A fresh random token key (30 characters of `[a-z0-9]`).
    public static func newTokenKey() -> String {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<30).map { _ in alphabet[Int(rng.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// A signed auth token for user `userID` of collection `collectionID`, bound to the user's
    /// current `tokenKey`.
    public func issue(userID: String, collectionID: String, tokenKey: String = "", now: Date = Date()) async throws -> String {
        try await keys.sign(Claims(
            id: userID, type: "auth", collectionId: collectionID,
            exp: ExpirationClaim(value: Date(timeIntervalSince1970: (now.timeIntervalSince1970 + lifetime).rounded(.down))), refreshable: true,
            tk: Self.fingerprint(ofTokenKey: tokenKey)
        ))
    }

    /// A signed one-time token of `action` for a user, valid for `lifetime` seconds, bound to the
    /// user's current `tokenKey` and `email`.
    public func issue(
        _ action: Action, userID: String, collectionID: String, email: String, newEmail: String? = nil, tokenKey: String,
        lifetime: TimeInterval? = nil, now: Date = Date()
    ) async throws -> String {
        let seconds = lifetime ?? action.defaultLifetime
        return try await keys.sign(ActionClaims(
            id: userID, type: action.rawValue, collectionId: collectionID, email: email, newEmail: newEmail,
            tk: Self.fingerprint(ofTokenKey: tokenKey),
            exp: ExpirationClaim(value: Date(timeIntervalSince1970: (now.timeIntervalSince1970 + seconds).rounded(.down)))
        ))
    }

    /// The claims of a one-time token of `action` whose signature verifies and which has not
    /// expired at `now`; nil otherwise. The caller still checks `tk` and `email` against the
    /// user record (``matches(_:tokenKey:)``): that is what makes the token single-use.
    public func verify(_ token: String, as action: Action, now: Date = Date()) async -> ActionClaims? {
        guard token.utf8.count <= 4096, let claims = try? await keys.verify(token, as: ActionClaims.self),
              claims.type == action.rawValue, claims.exp.value > now
        else { return nil }
        return claims
    }

    /// True when the claims were issued under `tokenKey` (the user's key has not rotated since).
    public static func matches(_ claims: ActionClaims, tokenKey: String) -> Bool {
        claims.tk == fingerprint(ofTokenKey: tokenKey)
    }

    /// The identity in `header` (an `Authorization` value, with or without `Bearer `), or nil when
    /// it is empty, malformed, forged, expired at `now`, not an auth token, or (with a token-key
    /// lookup) its user's token key has rotated since it was issued. A token that
    /// verified is remembered until it expires or its user record changes
    /// (``VerifiedTokenCache``), so a client's next requests skip the signature check.
    public func identity(fromAuthorization header: String?, now: Date = Date()) async -> AuthIdentity? {
        guard let text = Self.token(fromAuthorization: header) else { return nil }
        if let known = verified.identity(of: text, now: now) { return known }
        // Taken before the user's key is read: a change committed meanwhile makes the cache
        // refuse what this verification concludes (it may have read the key before the change).
        let epoch = verified.epoch
        guard let claims = try? await keys.verify(text, as: Claims.self), claims.type == "auth", claims.exp.value > now else {
            return nil
        }
        if let tokenKeys {
            let tokenKey: String?
            do { tokenKey = try await tokenKeys(claims.collectionId, claims.id) } catch { return nil }
            if let tokenKey, claims.tk != Self.fingerprint(ofTokenKey: tokenKey) { return nil }
        }
        let identity = AuthIdentity(userID: claims.id, collectionID: claims.collectionId, refreshable: claims.refreshable)
        verified.remember(text, identity: identity, expires: claims.exp.value, ifEpoch: epoch)
        return identity
    }

    /// Forgets the verified tokens of a user whose record changed (its token key may have
    /// rotated); their next use is verified again against the record.
    public func forgetTokens(ofUser userID: String) {
        verified.forget(userID: userID)
    }

    /// The identity of a token in `header` that verified before and has not expired at `now`,
    /// found without verifying anything (no task needed); nil when the header carries no such
    /// token, and ``identity(fromAuthorization:now:)`` then decides. For a caller that sends the
    /// same header again and again (a client's connection): when `header` is the one `kept` was
    /// made from, no user changed since and its token has not expired at `now`, `kept`'s
    /// identity, found by comparing the header (no token parsed, hashed or looked up under the
    /// shared lock); else the shared table's answer, which `kept` then holds (nil when none).
    public func rememberedIdentity(fromAuthorization header: String, now: Date = Date(), kept: inout RememberedToken?) -> AuthIdentity? {
        let epoch = verified.epoch
        if let known = kept, known.epoch == epoch, known.expires > now, known.header == header { return known.identity }
        guard let text = Self.token(fromAuthorization: header), let entry = verified.entry(of: text, now: now) else {
            kept = nil
            return nil
        }
        kept = RememberedToken(header: header, identity: entry.identity, expires: entry.expires, epoch: epoch)
        return entry.identity
    }

    /// The token in an `Authorization` value (with or without `Bearer `), or nil when there is
    /// none or it is longer than 4096 bytes.
    static func token(fromAuthorization header: String?) -> String? {
        guard let header else { return nil }
        var token = Self.trimmed(Substring(header))
        if token.utf8.count > 7, token.utf8.prefix(7).elementsEqual("bearer ".utf8, by: { Self.asciiLowercased($0) == $1 }) {
            token = Self.trimmed(Substring(token.utf8.dropFirst(7)))
        }
        guard !token.isEmpty, token.utf8.count <= 4096 else { return nil }
        return String(token)
    }

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }

    /// `text` without leading and trailing spaces and tabs (compared as bytes: every request
    /// with a token comes through here).
    static func trimmed(_ text: Substring) -> Substring {
        let utf8 = text.utf8
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        guard let first = utf8.firstIndex(where: { !blank($0) }), let last = utf8.lastIndex(where: { !blank($0) }) else { return "" }
        return Substring(utf8[first..<utf8.index(after: last)])
    }
}
