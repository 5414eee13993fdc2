import Foundation

/// The identity one `Authorization` header's token was last found to carry, kept by whoever
/// sends that header again (the gateway keeps one per client connection), so
/// ``TokenService/rememberedIdentity(fromAuthorization:now:kept:)`` answers a repeated header
/// by comparing it. It holds only while the token has not expired and no user record changed
/// since it was made (the verified-token cache's epoch: a change may have revoked the token).
public struct RememberedToken: Sendable {
    /// The whole header value, as sent.
    let header: String
    let identity: AuthIdentity
    let expires: Date
    /// The verified-token cache's count of user changes, read before the lookup that made it.
    let epoch: UInt64
}
