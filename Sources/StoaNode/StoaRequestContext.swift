import Hummingbird
import StoaStore

/// The per-request context: Hummingbird's core storage plus the caller's verified identity.
public struct StoaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated user, or nil for a guest.
    public var identity: AuthIdentity?
    /// Largest request body accepted (bytes); larger bodies get 413 and change nothing.
    public var maxUploadSize: Int

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        maxUploadSize = NodeConfiguration.defaultMaxBodyBytes
    }
}

/// Who is calling, from a verified token.
public struct AuthIdentity: Sendable, Equatable {
    public let userID: String
    public let collectionID: String
    public let refreshable: Bool

    /// A `_superusers` account: passes every collection's rules (PocketBase's superusers).
    public var isSuperuser: Bool { collectionID == CollectionSchema.superusers.id }
    /// A `users` account: owns quotes and its own user record.
    public var isUser: Bool { collectionID == CollectionSchema.users.id }
}
