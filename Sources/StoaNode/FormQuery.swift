import Foundation

/// A URL query decoded as `application/x-www-form-urlencoded`: `+` is a space and `%XX` a byte,
/// as Go's net/url (PocketBase) and form-encoding clients such as the Python SDK expect.
/// When a name repeats, the first value wins; malformed escapes leave the text as given.
struct FormQuery: Sendable {
    private var values: [String: String] = [:]

    init(_ raw: String?) {
        guard let raw else { return }
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            guard values[name] == nil else { continue }
            values[name] = parts.count > 1 ? Self.decode(parts[1]) : ""
        }
    }

    func get(_ name: String) -> String? { values[name] }

    static func decode(_ text: Substring) -> String {
        // Most names and values need no decoding (Foundation's would cost more than the rest of
        // a query's parsing).
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) else { return String(text) }
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
