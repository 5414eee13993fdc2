/// Why a store operation did not happen. Nothing was written when one is thrown.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No live record with that id (or not one the caller owns).
    case notFound
    /// A record with that id exists or existed (ids are never reused).
    case idTaken
    /// The value must be unique in the collection and is not (e.g. a user's email).
    case notUnique(field: String)
    /// The data folder belongs to another node name.
    case nodeNameMismatch(stored: String, given: String)
    /// The list filter or sort could not be used.
    case invalidQuery(String)
    /// A backup would overwrite an existing file.
    case backupDestinationExists(String)

    public var description: String {
        switch self {
        case .notFound: return "no such record"
        case .idTaken: return "the id is used by a record that exists or existed"
        case .notUnique(let field): return "\(field) must be unique"
        case .nodeNameMismatch(let stored, let given):
            return "this data folder belongs to node \"\(stored)\", not \"\(given)\"; use --name \(stored) or another --data folder"
        case .invalidQuery(let message): return message
        case .backupDestinationExists(let path): return "\(path) exists already; a backup never overwrites a file"
        }
    }
}
