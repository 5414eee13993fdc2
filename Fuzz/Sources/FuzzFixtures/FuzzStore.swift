import FuzzSupport
import StoaCore
import StoaStore

/// An in-memory store holding a little of everything a query can meet: quotes of two users
/// written on two nodes (so version vectors have two origins), an updated, a deleted and a
/// restored quote, tags, texts with LIKE wildcards, quotes, backslashes and non-ASCII, one text at
/// the length limit, and two users.
///
/// Built once per process; the targets only read from it, so every input sees the same data and a
/// crash replays from its input alone.
public enum FuzzStore {
    /// The user whose quotes the targets query (a valid record id).
    public static let owner = "fuzzowner000001"
    /// Another user, whose quotes must never show up in the owner's results.
    public static let otherUser = "fuzzother000002"

    public static let store: StoaDatabase = {
        do {
            return try build()
        } catch {
            fatalError("cannot build the fuzz store: \(error)")
        }
    }()

    private static func build() throws -> StoaDatabase {
        // A fixed clock: every run builds the same data.
        let tick: @Sendable () -> UInt64 = { 1_764_000_000_000 }
        let store = try StoaDatabase.inMemory(nodeName: "fuzz", physicalMillis: tick)
        let peer = try StoaDatabase.inMemory(nodeName: "peer", physicalMillis: tick)
        let long = String(repeating: "ab%_\\\"'é ", count: 500)
        let quotes: [(db: StoaDatabase, id: String, owner: String, content: String, author: String, tags: [String])] = [
            (store, "aaaaaaaaaaaaaa1", owner, "You have power over your mind, not outside events.", "Marcus Aurelius", ["stoic", "mind"]),
            (store, "aaaaaaaaaaaaaa2", owner, "100% of 50_000 \\ \"quoted\" 'single'", "", []),
            (store, "aaaaaaaaaaaaaa3", owner, "Ça ira — ☃ 𝄞 日本語", "Anonyme", ["français"]),
            (store, "aaaaaaaaaaaaaa4", owner, String(long.unicodeScalars.prefix(5000).map(Character.init)), "Long", ["long"]),
            (store, "aaaaaaaaaaaaaa5", owner, "To be deleted", "Seneca", ["trash"]),
            (store, "aaaaaaaaaaaaaa6", otherUser, "Another user's quote", "Epictetus", ["stoic"]),
            (peer, "bbbbbbbbbbbbbb1", owner, "Written on the peer", "Zeno", ["peer", "stoic"]),
            (peer, "bbbbbbbbbbbbbb2", owner, "2026-11-24T18:04:01.858Z", "true", ["2026"]),
            (peer, "bbbbbbbbbbbbbb3", otherUser, "Peer, other user", "null", []),
        ]
        let results: [Result<Void, any Error>] = quotes.map { quote in
            blocking {
                _ = try await quote.db.create(
                    .quotes, id: quote.id,
                    fields: ["content": .string(quote.content), "author": .string(quote.author), "userId": .string(quote.owner)],
                    tags: quote.tags
                )
            }
        }
        for result in results { try result.get() }
        try blocking {
            _ = try await store.update(.quotes, id: "aaaaaaaaaaaaaa1", owner: owner, fields: ["notes": .string("updated once")], tags: .modify(add: ["calm"], remove: ["mind"]))
            _ = try await store.delete(.quotes, id: "aaaaaaaaaaaaaa5", owner: owner)
            _ = try await peer.delete(.quotes, id: "bbbbbbbbbbbbbb2", owner: owner)
            _ = try await peer.restore(.quotes, id: "bbbbbbbbbbbbbb2", owner: owner)
            _ = try await store.create(.users, id: owner, fields: ["email": .string("ann@example.com"), "name": .string("Ann"), "emailVisibility": .bool(true)])
            _ = try await store.create(.users, id: otherUser, fields: ["email": .string("bob@example.com"), "name": .string("Bob %_"), "verified": .bool(true)])
            _ = try await store.apply(remote: try await peer.changes(notIn: VersionVector()))
        }.get()
        return store
    }
}
