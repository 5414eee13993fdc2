// MARK: - FilterError

/// An error raised while parsing a client-supplied `filter` or `sort` query
/// parameter (see ``RecordFilter`` and ``RecordSort``).
///
/// Contract:
/// - ``message`` is meant to be returned to the client as-is (e.g. in a
///   400 response): it names the offending token and, where useful, the
///   0-based position (in Unicode scalars) where it starts, e.g.
///   `unknown field "foo" at position 12`.
/// - Messages never echo more than a short excerpt of the input.
public struct FilterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A human-readable explanation a client can act on.
    public let message: String

    /// Creates an error with the given client-facing message.
    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}

// MARK: - Factories

extension FilterError {
    /// Longest excerpt of client input quoted back in a message.
    static let maximumExcerptLength = 40

    /// Quotes `text` for a message, truncating long input.
    static func quoted(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var excerpt = String.UnicodeScalarView()
        if scalars.count > maximumExcerptLength {
            excerpt.append(contentsOf: scalars[0..<maximumExcerptLength])
            return "\"" + String(excerpt) + "…\""
        }
        return "\"" + text + "\""
    }

    /// `"<message> at position <n>"`, followed by `": <hint>"` when a hint is given.
    static func at(_ message: String, _ position: Int, hint: String? = nil) -> FilterError {
        FilterError(message: "\(message) at position \(position)" + (hint.map { ": " + $0 } ?? ""))
    }
}
