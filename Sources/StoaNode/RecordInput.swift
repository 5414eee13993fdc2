import Foundation
import StoaCore
import StoaStore

/// A request body checked against a collection's fields: either the values to write, or the
/// field-level errors PocketBase reports in `data`. Unknown keys and system fields (`created`,
/// `updated`, `collectionId`, `collectionName`) are ignored, as PocketBase does.
///
/// A text value or tag containing U+0000 is an error naming its field
/// (``PBError/FieldError/containsNUL``): nothing is stored that differs from what was sent.
struct RecordInput: Sendable {
    var id: String?
    var fields: [String: FieldValue] = [:]
    var tags: [String]?
    /// From PocketBase's `"tags+"` / `"tags-"` modifiers.
    var addTags: [String] = []
    var removeTags: [String] = []
    var errors: [String: PBError.FieldError] = [:]

    /// Longest text accepted in one field (PocketBase's default text field limit).
    static let maxTextLength = 5000
    static let maxTags = 100
    static let maxTagLength = 100

    /// Decodes a JSON object body with ``JSONParser``. An empty body is an empty object.
    ///
    /// - Throws: ``PBError`` 400 when the body is not a JSON object (malformed JSON, invalid UTF-8,
    ///   a key given twice in one object, as PocketBase refuses it; an array or scalar at the top
    ///   level).
    static func decodeObject(_ body: Data) throws(PBError) -> [String: JSONValue] {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [:] }
        guard let value = try? JSONParser.parse(Array(body)), case .object(let object) = value else {
            throw PBError.badRequest("Failed to load the submitted data due to invalid formatting.")
        }
        return object
    }

    /// Validates `object` for `schema`; `creating` makes required fields required and allows `id`.
    init(_ object: [String: JSONValue], schema: CollectionSchema, creating: Bool, required: Set<String>) {
        if let raw = object["id"] {
            if creating {
                switch raw {
                case .string(let id) where RecordID.isValid(id):
                    self.id = id
                case .string(let id) where id.isEmpty:
                    self.id = nil
                case .string(let id) where id.count < RecordID.length:
                    errors["id"] = .minLength(RecordID.length)
                case .string(let id) where id.count > RecordID.length:
                    errors["id"] = .maxLength(RecordID.length)
                default:
                    errors["id"] = .init(code: "validation_invalid_format", message: "Invalid value format.")
                }
            }
        }
        for field in schema.fields where !field.hidden {
            let value = object[field.name]
            switch (field.kind, value) {
            case (_, nil):
                break
            case (.text, .string(let text)?):
                // Counted in Unicode scalars, as PocketBase counts runes (a grapheme count would
                // let combining marks make one "character" arbitrarily large).
                if text.utf8.contains(0) {
                    errors[field.name] = .containsNUL
                } else if text.unicodeScalars.count > Self.maxTextLength {
                    errors[field.name] = .maxLength(Self.maxTextLength)
                } else {
                    fields[field.name] = .string(text)
                }
            case (.text, .null?):
                fields[field.name] = .string("")
            case (.bool, .bool(let flag)?):
                fields[field.name] = .bool(flag)
            case (.bool, .null?):
                fields[field.name] = .bool(false)
            case (.tags, .null?):
                tags = []
            case (.tags, .array(let items)?):
                // Linear in the array and stopped at the first bad or excess tag: the limits are
                // checked before the work they bound (a body of 100k tags costs one pass at most).
                var list: [String] = []
                var seen = Set<String>()
                for item in items {
                    if case .string(let tag) = item, tag.utf8.contains(0) {
                        errors[field.name] = .containsNUL
                        break
                    }
                    guard case .string(let tag) = item, !tag.isEmpty, tag.unicodeScalars.count <= Self.maxTagLength else {
                        errors[field.name] = .init(code: "validation_invalid_value", message: "Must be an array of non-empty strings of at most \(Self.maxTagLength) characters.")
                        break
                    }
                    guard seen.insert(tag).inserted else { continue }
                    guard list.count < Self.maxTags else {
                        errors[field.name] = .init(code: "validation_length_out_of_range", message: "Must have at most \(Self.maxTags) items.")
                        break
                    }
                    list.append(tag)
                }
                if errors[field.name] == nil { tags = list }
            case (let kind, let other?):
                let expected = kind == .bool ? "a boolean" : kind == .tags ? "an array of strings" : "a string"
                errors[field.name] = .init(code: "validation_invalid_type", message: "Must be \(expected), not \(other.typeName).")
            }
        }
        if let tagsField = schema.tagsField {
            for (suffix, isAdd) in [("+", true), ("-", false)] {
                guard let value = object[tagsField.name + suffix] else { continue }
                let list: [String]?
                switch value {
                case .string(let tag): list = [tag]
                case .array(let items):
                    let strings = items.compactMap { item -> String? in if case .string(let tag) = item { return tag } else { return nil } }
                    list = strings.count == items.count ? strings : nil
                default: list = nil
                }
                if let list, list.contains(where: { $0.utf8.contains(0) }) {
                    errors[tagsField.name] = .containsNUL
                    continue
                }
                guard let list, list.count <= Self.maxTags, list.allSatisfy({ !$0.isEmpty && $0.unicodeScalars.count <= Self.maxTagLength }) else {
                    errors[tagsField.name] = .init(code: "validation_invalid_value", message: "\(tagsField.name)\(suffix) takes a non-empty string or an array of them.")
                    continue
                }
                if isAdd { addTags += list } else { removeTags += list }
            }
        }
        for name in required where errors[name] == nil {
            // Absent is blank only on create; an explicit "" is blank on both.
            if fields[name].map({ $0 == .string("") }) ?? creating {
                errors[name] = .required
            }
        }
    }

    /// The tag edit of an update: the whole array, the `+`/`-` modifiers, or both (the array
    /// first, then the modifiers, as PocketBase applies them); nil when tags are untouched.
    var tagEdit: TagEdit? {
        if let tags { return .assign(applyingModifiers(to: tags)) }
        if addTags.isEmpty && removeTags.isEmpty { return nil }
        return .modify(add: addTags, remove: removeTags)
    }

    /// The tags of a new record (modifiers apply to the empty set).
    var createTags: [String] { applyingModifiers(to: tags ?? []) }

    /// `base` without the `-` tags, then the `+` tags it does not have yet.
    private func applyingModifiers(to base: [String]) -> [String] {
        let removed = Set(removeTags)
        var result = base.filter { !removed.contains($0) }
        result += addTags.filter { !removed.contains($0) && !result.contains($0) }
        return result
    }
}
