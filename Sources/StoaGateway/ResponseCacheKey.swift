import Foundation

/// What a cached response is filed under: the user it was served to (responses differ by user
/// because of API rules), the path and the normalized query.
public struct CacheKey: Hashable, Sendable {
    /// The verified token subject; "" for guests.
    public var user: String
    /// The request path, e.g. `/api/collections/quotes/records` or `.../records/{id}`.
    public var path: String
    /// The query normalized by `CacheKey.normalizedQuery`, "" when none.
    public var query: String

    public init(user: String, path: String, query: String) {
        self.user = user
        self.path = path
        self.query = query
    }

    /// `raw` (without the `?`) reduced to what a node reads of it, so two queries share a key
    /// only if every node answers them alike. A node (StoaNode's `FormQuery`) splits the query at
    /// `&` (skipping empty parameters), form-decodes each name (`+` a space, `%XX` a byte) and,
    /// when a name comes more than once, uses its first value only. So the key keeps, of each
    /// decoded name, the first parameter as sent, and sorts those by decoded name:
    /// `sort=-created&page=2` and `page=2&sort=-created` both become `page=2&sort=-created`, and
    /// `filter=a&filter=b` becomes `filter=a` while `filter=b&filter=a` becomes `filter=b`.
    ///
    /// Equal keys mean equal parameters for the node: the key is the sequence of kept parameters
    /// as sent (none contains `&`), each naming a distinct decoded name with the value the node
    /// uses. Values are compared as sent (not decoded): `a=%20` and `a=+` are two keys for one
    /// answer, which costs a cache entry, never a wrong answer.
    public static func normalizedQuery(_ raw: some StringProtocol) -> String {
        if raw.isEmpty { return "" }
        var kept: [(name: String, parameter: Substring)] = []
        var names = Set<String>()
        for parameter in String(raw).split(separator: "&", omittingEmptySubsequences: true) {
            let name = formDecoded(parameter.firstIndex(of: "=").map { parameter[..<$0] } ?? parameter)
            if names.insert(name).inserted { kept.append((name, parameter)) }
        }
        kept.sort { $0.name < $1.name }
        return kept.map(\.parameter).joined(separator: "&")
    }

    /// A query name decoded as the node decodes it (`FormQuery.decode`): `+` is a space, `%XX` a
    /// byte; a malformed escape leaves the text as given.
    static func formDecoded(_ text: Substring) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) else { return String(text) }
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// Bytes the key counts against the cache budget.
    var byteCount: Int { user.utf8.count + path.utf8.count + query.utf8.count }
}
