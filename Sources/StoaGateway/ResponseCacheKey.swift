/// What a cached response is filed under: the user it was served to (responses differ by user
/// because of API rules), the path and the normalized query.
public struct CacheKey: Hashable, Sendable {
    /// The verified token subject; "" for guests.
    public var user: String
    /// The request path, e.g. `/api/collections/quotes/records` or `.../records/{id}`.
    public var path: String
    /// The query normalized by `CacheKey.normalizedQuery` (parameters sorted), "" when none.
    public var query: String

    public init(user: String, path: String, query: String) {
        self.user = user
        self.path = path
        self.query = query
    }

    /// `raw` (without the `?`) with empty parameters dropped and the rest sorted, so the same
    /// parameters in another order share a key: `sort=-created&page=2` and `page=2&sort=-created`
    /// both become `page=2&sort=-created`. Values are compared as sent (not decoded).
    public static func normalizedQuery(_ raw: some StringProtocol) -> String {
        raw.split(separator: "&").sorted().joined(separator: "&")
    }

    /// Bytes the key counts against the cache budget.
    var byteCount: Int { user.utf8.count + path.utf8.count + query.utf8.count }
}
