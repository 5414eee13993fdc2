import Foundation

/// PocketBase's `fields` query parameter (`tools/picker`): the keys a record answer keeps
/// (`id,content`, `*` for every key of its level, `expand.userId.name` inside an expanded
/// record) and the modifiers applied to them (`content:excerpt(200,true)`).
///
/// Parsed as PocketBase parses it: comma-separated, commas inside parentheses belong to a
/// modifier, spaces around names are ignored, a parameter naming nothing selects everything.
/// An unknown modifier, or an `excerpt` without a positive length or with more than two
/// arguments, is an error (PocketBase answers 400).
struct FieldSelection: Sendable, Equatable {
    /// The paths kept; nil for every field.
    let names: Set<String>?
    /// The `excerpt` modifiers by path.
    let excerpts: [String: FieldExcerpt]

    /// Every field, unmodified.
    static let all = FieldSelection(names: nil, excerpts: [:])

    init(names: Set<String>?, excerpts: [String: FieldExcerpt]) {
        self.names = names
        self.excerpts = excerpts
    }

    /// Parses the parameter (nil or blank: every field).
    ///
    /// - Throws: ``PBError`` 400 naming the bad modifier.
    static func parse(_ parameter: String?) throws(PBError) -> FieldSelection {
        guard let parameter, !parameter.trimmingCharacters(in: .whitespaces).isEmpty else { return .all }
        var names = Set<String>()
        var excerpts: [String: FieldExcerpt] = [:]
        for part in split(parameter) {
            let pieces = part.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let name = pieces[0].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { continue }
            names.insert(name)
            // A later mention of the same path replaces an earlier one (PocketBase's map).
            excerpts[name] = pieces.count > 1 ? try FieldExcerpt.parse(String(pieces[1])) : nil
        }
        if names.isEmpty || names == ["*"] && excerpts.isEmpty { return .all }
        return FieldSelection(names: names, excerpts: excerpts)
    }

    /// The parameter's comma-separated parts; commas inside parentheses do not split.
    static func split(_ parameter: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in parameter {
            switch character {
            case "(": depth += 1
            case ")": depth = max(0, depth - 1)
            case "," where depth == 0:
                parts.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        parts.append(current)
        return parts
    }

    /// The selection inside `expand.<relation>`: the paths under `expand.<relation>.`, with
    /// their modifiers; nil when none is named.
    func nested(under prefix: String) -> FieldSelection? {
        guard let names else { return nil }
        let full = prefix + "."
        let inner = Set(names.filter { $0.hasPrefix(full) }.map { String($0.dropFirst(full.count)) })
        guard !inner.isEmpty else { return nil }
        var innerExcerpts: [String: FieldExcerpt] = [:]
        for (path, excerpt) in excerpts where path.hasPrefix(full) { innerExcerpts[String(path.dropFirst(full.count))] = excerpt }
        return FieldSelection(names: inner == ["*"] && innerExcerpts.isEmpty ? nil : inner, excerpts: innerExcerpts)
    }
}
