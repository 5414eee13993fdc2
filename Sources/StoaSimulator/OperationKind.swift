/// The kinds of write a simulated client makes.
public enum OperationKind: String, Sendable, CaseIterable, Hashable, Codable {
    /// Create a quote with a fresh id, some text fields and tags.
    case create
    /// Update one or two text fields of a quote.
    case update
    /// Edit a quote's tags: the whole array (`tags`) or the modifiers (`tags+`/`tags-`).
    case tags
    /// Delete a quote (the app's trash).
    case delete
    /// Restore a deleted quote.
    case restore
    /// Sign a new account up, with an email from a small shared pool (in varying case), so
    /// clients on different nodes or sides of a partition claim the same address.
    case signUp
    /// Make a superuser (`stoa superuser upsert`, or a superuser's create), with an email from
    /// the same shared pool: `_superusers` replicates like `users`, one account per email within
    /// its own collection (a user and a superuser may share an address).
    case superuser

    /// An account's creation (`users` or `_superusers`), not a quote write.
    public var isAccount: Bool { self == .signUp || self == .superuser }
}
