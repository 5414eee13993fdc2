/// Which records a cached path shows: `/api/collections/{collection}/records` is a list of the
/// collection, `/api/collections/{collection}/records/{id}` the view of one record. Other paths
/// have no target (no write invalidates them; they expire by TTL).
struct ResponseCachePathTarget: Hashable, Sendable {
    var collection: String
    /// Nil for a list.
    var recordID: String?

    init?(path: String) {
        let parts = path.split(separator: "/")
        guard parts.count == 4 || parts.count == 5, parts[0] == "api", parts[1] == "collections", parts[3] == "records"
        else { return nil }
        collection = String(parts[2])
        recordID = parts.count == 5 ? String(parts[4]) : nil
    }
}
