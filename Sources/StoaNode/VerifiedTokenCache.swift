import Foundation
import Synchronization

/// The tokens a ``TokenService`` has verified, with the identity each carries and its expiry, so
/// a client's every request does not pay the signature check and claims decoding again.
///
/// Tokens are self-contained (nothing a node stores revokes one), so a verified token stays valid
/// until its `exp`, which is checked on every hit. Only valid tokens are remembered; the table
/// is emptied when it reaches `capacity`, which bounds its memory under many distinct tokens.
final class VerifiedTokenCache: Sendable {
    private let table = Mutex<[String: (identity: AuthIdentity, expires: Date)]>([:])
    let capacity: Int

    init(capacity: Int = 10_000) { self.capacity = capacity }

    /// The identity of a token verified before and not expired at `now`.
    func identity(of token: String, now: Date) -> AuthIdentity? {
        table.withLock { table in
            guard let entry = table[token] else { return nil }
            guard entry.expires > now else {
                table[token] = nil
                return nil
            }
            return entry.identity
        }
    }

    /// Remembers a token that verified, until `expires`.
    func remember(_ token: String, identity: AuthIdentity, expires: Date) {
        table.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[token] = (identity, expires)
        }
    }

    var count: Int { table.withLock { $0.count } }
}
