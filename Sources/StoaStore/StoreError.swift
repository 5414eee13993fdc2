/// Why a store operation did not happen. Nothing was written when one is thrown.
public enum StoreError: Error, Equatable, Sendable {
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
}
