/// What the gateway needs to know about a request's path and method: whether it writes,
/// whether a failed attempt may be retried on another node, and which records it touches.
public struct RequestRoute: Sendable, Equatable {
    /// A write changes data (POST, PUT, PATCH, DELETE).
    public let isWrite: Bool
    /// The collection of a Records API path (`/api/collections/{collection}/records...`).
    public let collection: String?
    /// The record id of a view/update/delete path (`.../records/{id}`).
    public let recordID: String?
    /// True for `GET .../records` (list) and `GET .../records/{id}` (view): the cacheable reads.
    public let isRecordRead: Bool

    public init(method: String, path: String) {
        // Methods arrive upper-case (HTTP tokens); upper-casing a copy is the rare path.
        let upper = method.utf8.contains { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") } ? method.uppercased() : method
        isWrite = upper == "POST" || upper == "PUT" || upper == "PATCH" || upper == "DELETE"
        let parts = path.split(separator: "/", maxSplits: 5, omittingEmptySubsequences: true)
        if parts.count >= 4, parts[0] == "api", parts[1] == "collections", parts[3] == "records", parts.count <= 5 {
            collection = String(parts[2])
            recordID = parts.count == 5 ? String(parts[4]) : nil
        } else {
            collection = nil
            recordID = nil
        }
        isRecordRead = upper == "GET" && collection != nil
    }

    /// Whether a request may be sent again to another node after the first one failed mid-way:
    /// reads (GET, HEAD, OPTIONS), writes on a named record (PUT/PATCH/DELETE `.../records/{id}`:
    /// the same body sets the same fields), and creates that carry a client-chosen `id`
    /// (`bodyHasID`), which a node applies once. Other writes are not retried.
    public func isIdempotent(method: String, bodyHasID: Bool) -> Bool {
        switch method.uppercased() {
        case "GET", "HEAD", "OPTIONS": return true
        case "PUT", "PATCH", "DELETE": return recordID != nil
        case "POST": return collection != nil && recordID == nil && bodyHasID
        default: return false
        }
    }
}
