import Synchronization
import StoaNode

/// Verifies `Authorization` tokens with the nodes' ``TokenService`` and remembers the result
/// for a few seconds, so a client's requests do not each pay a signature check. A remembered
/// token is re-verified once `maxAgeNanos` has passed (so an expired token stops counting as
/// its user within that time); the table is cleared when it reaches `capacity`.
public final class VerifiedTokens: Sendable {
    let service: TokenService
    let capacity: Int
    let maxAgeNanos: UInt64
    private let table = Mutex<[String: (user: String?, verifiedAt: UInt64)]>([:])

    public init(service: TokenService, capacity: Int = 10_000, maxAgeNanos: UInt64 = 5_000_000_000) {
        self.service = service
        self.capacity = capacity
        self.maxAgeNanos = maxAgeNanos
    }

    /// The user id the header's token belongs to, or nil for none, a forged or expired token.
    public func user(fromAuthorization header: String?, now: UInt64) async -> String? {
        guard let header, !header.isEmpty, header.utf8.count <= 4200 else { return nil }
        if let known = table.withLock({ $0[header] }), now &- known.verifiedAt < maxAgeNanos { return known.user }
        let user = await service.identity(fromAuthorization: header)?.userID
        table.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[header] = (user, now)
        }
        return user
    }
}
