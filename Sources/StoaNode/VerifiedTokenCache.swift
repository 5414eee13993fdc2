import Foundation
import Synchronization

/// The tokens a ``TokenService`` has verified, with the identity each carries and its expiry, so
/// a client's every request does not pay the signature check, claims decoding and token-key
/// lookup again.
///
/// A verified token stays valid until its `exp` (checked on every hit) or until its user record
/// changes: the node then calls ``forget(userID:)`` (its token key may have rotated, which
/// revokes the user's older tokens). A verification that read the user's key before such a
/// change and finishes after it must not be remembered: ``epoch`` counts the changes, and
/// ``remember(_:identity:expires:ifEpoch:)`` refuses an entry verified under an older count.
/// Only valid tokens are remembered; the table is emptied when it reaches `capacity`, which
/// bounds its memory under many distinct tokens. ``epoch`` is also read without the lock, by a
/// connection checking that the identity it kept (``RememberedToken``) still holds.
final class VerifiedTokenCache: Sendable {
    private struct State {
        var table: [String: (identity: AuthIdentity, expires: Date)] = [:]
        /// The tokens in `table` by user, so a user's change forgets them without a scan.
        var byUser: [String: Set<String>] = [:]

        mutating func remove(_ token: String) {
            guard let entry = table.removeValue(forKey: token) else { return }
            let user = entry.identity.userID
            byUser[user]?.remove(token)
            if byUser[user]?.isEmpty == true { byUser[user] = nil }
        }
    }

    private let state = Mutex(State())
    /// How many user changes have been seen: changed only under `state`'s lock, so a
    /// ``remember(_:identity:expires:ifEpoch:)`` holding the lock sees every change before it.
    private let changes = Atomic<UInt64>(0)
    let capacity: Int

    init(capacity: Int = 10_000) { self.capacity = capacity }

    /// The identity of a token verified before and not expired at `now`.
    func identity(of token: String, now: Date) -> AuthIdentity? {
        entry(of: token, now: now)?.identity
    }

    /// The identity of a token verified before and not expired at `now`, with its expiry.
    func entry(of token: String, now: Date) -> (identity: AuthIdentity, expires: Date)? {
        state.withLock { state in
            guard let entry = state.table[token] else { return nil }
            guard entry.expires > now else {
                state.remove(token)
                return nil
            }
            return entry
        }
    }

    /// How many user changes have been seen; read before a verification starts (and before a
    /// connection looks up the identity it keeps).
    var epoch: UInt64 { changes.load(ordering: .acquiring) }

    /// Remembers a token that verified, until `expires`, unless a user changed since `epoch`
    /// was read (the verification may have seen a token key that is no longer current).
    func remember(_ token: String, identity: AuthIdentity, expires: Date, ifEpoch epoch: UInt64) {
        state.withLock { state in
            guard changes.load(ordering: .relaxed) == epoch else { return }
            if state.table.count >= capacity {
                state.table.removeAll(keepingCapacity: true)
                state.byUser.removeAll(keepingCapacity: true)
            }
            state.table[token] = (identity, expires)
            state.byUser[identity.userID, default: []].insert(token)
        }
    }

    /// Forgets every token of `userID` (its user record changed) and counts the change.
    func forget(userID: String) {
        state.withLock { state in
            changes.add(1, ordering: .releasing)
            for token in state.byUser[userID] ?? [] { state.remove(token) }
        }
    }

    var count: Int { state.withLock { $0.table.count } }
}
