import Foundation

/// PocketBase's `:excerpt(max, withEllipsis?)` field modifier (`tools/picker/excerpt_modifier.go`):
/// a text cut to at most `max` characters (Unicode scalars, as Go counts runes), runs of
/// whitespace (`[\t\n\f\r ]`) collapsed to one space and the ends trimmed, `...` appended
/// when `withEllipsis` and the text was cut. Values that are not text are left alone.
///
/// PocketBase first parses the text as HTML (tags dropped, entities decoded); Stoa's texts
/// are plain, so a text holding `<` or `&` is cut as the plain text it is (README, deliberate
/// differences).
struct FieldExcerpt: Sendable, Equatable {
    let max: Int
    let withEllipsis: Bool

    /// Parses `excerpt(12)` or `excerpt(12, true)` (arguments separated by commas or spaces).
    ///
    /// - Throws: ``PBError`` 400 for another modifier name, no or a non-positive length, or
    ///   more than two arguments (as PocketBase refuses them).
    static func parse(_ modifier: String) throws(PBError) -> FieldExcerpt {
        let text = modifier.trimmingCharacters(in: .whitespaces)
        let name: String
        var arguments: [String] = []
        if let open = text.firstIndex(of: "(") {
            name = String(text[..<open]).trimmingCharacters(in: .whitespaces)
            let inner = text[text.index(after: open)...].prefix { $0 != ")" }
            arguments = inner.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        } else {
            name = text
        }
        guard name == "excerpt" else { throw PBError.badRequest("Invalid fields parameter: unknown modifier \"\(name.prefix(40))\".") }
        guard let first = arguments.first, arguments.count <= 2, let max = Int(first), max > 0 else {
            throw PBError.badRequest("Invalid fields parameter: excerpt takes (max, withEllipsis?) with max > 0.")
        }
        let ellipsis = arguments.count > 1 && ["1", "t", "T", "TRUE", "true", "True"].contains(arguments[1])
        return FieldExcerpt(max: max, withEllipsis: ellipsis)
    }

    /// The excerpt of `text`.
    func apply(_ text: String) -> String {
        var collapsed = String.UnicodeScalarView()
        var inSpace = false
        for scalar in text.unicodeScalars {
            if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\u{0C}" || scalar == "\r" {
                if !inSpace { collapsed.append(" ") }
                inSpace = true
            } else {
                collapsed.append(scalar)
                inSpace = false
            }
        }
        let trimmed = String(collapsed).trimmingCharacters(in: .whitespacesAndNewlines)
        let scalars = Array(trimmed.unicodeScalars)
        guard scalars.count > max else { return trimmed }
        var cut = String.UnicodeScalarView()
        cut.append(contentsOf: scalars[..<max])
        return String(cut).trimmingCharacters(in: .whitespacesAndNewlines) + (withEllipsis ? "..." : "")
    }
}
