import StoaStore

/// One subscription of a realtime client, parsed from PocketBase's subscription string:
/// `quotes` or `quotes/*` (every record of the collection the client may see), `quotes/{id}`
/// (one record), each optionally followed by `?options=...` (kept in the event name, not
/// interpreted). Events are named by the full string, as PocketBase names them.
struct RealtimeSubscription: Sendable, Equatable {
    /// Longest subscription string accepted (PocketBase's limit).
    static let maxLength = 2500
    /// Most subscriptions one client may hold.
    static let maxCount = 1000

    /// The string the client sent; the event name of matching messages.
    let name: String
    /// The collection name or id the subscription is about.
    let collection: String
    /// The one record watched, or nil for the whole collection.
    let recordID: String?

    init(_ name: String) {
        self.name = name
        let topic = name.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let parts = topic.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        collection = parts[0]
        recordID = parts.count > 1 && parts[1] != "*" ? parts[1] : nil
    }

    /// True when an event about `record` of `schema` is for this subscription.
    func matches(_ record: StoredRecord, schema: CollectionSchema) -> Bool {
        (collection == schema.name || collection == schema.id) && (recordID == nil || recordID == record.id)
    }
}
