import Foundation
import StoaCore
import StoaStore

/// A record as PocketBase serializes it (keys come out sorted because the response encoder
/// sorts them, as PocketBase's map encoding does): system fields
/// `collectionId`, `collectionName`, `id`, `created`, `updated`, the collection's visible fields,
/// optionally narrowed by the `fields` query parameter.
struct RecordView: JSONWritable, Sendable {
    let record: StoredRecord
    let schema: CollectionSchema
    /// Field names the client asked for with `?fields=`; nil for all.
    let only: Set<String>?
    /// For auth collections: whether `email` is shown (to its owner, or when emailVisibility).
    let showEmail: Bool

    struct Key: CodingKey {
        let stringValue: String
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for (name, entry) in entries() {
            switch entry {
            case .text(let text): try container.encode(text, forKey: Key(name))
            case .list(let list): try container.encode(list, forKey: Key(name))
            case .flag(let flag): try container.encode(flag, forKey: Key(name))
            }
        }
    }

    /// The fields shown, sorted by name (the order the sorted-keys encoder writes them in).
    private func entries() -> [(String, Entry)] {
        var entries: [(String, Entry)] = [
            ("collectionId", .text(schema.id)),
            ("collectionName", .text(schema.name)),
            ("id", .text(record.id)),
            ("created", .text(record.created)),
            ("updated", .text(record.updated)),
        ]
        for field in schema.fields where !field.hidden {
            if field.name == "email", !showEmail { continue }
            switch field.kind {
            case .tags: entries.append((field.name, .list(record.tags)))
            case .bool: entries.append((field.name, .flag(record.values[field.name] == .bool(true))))
            case .text: entries.append((field.name, .text(record.text(field.name))))
            }
        }
        if let only { entries.removeAll { !only.contains($0.0) } }
        entries.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        return entries
    }

    func writeJSON(into output: inout JSONOutput) {
        output.raw("{")
        for (index, (name, entry)) in entries().enumerated() {
            if index > 0 { output.comma() }
            output.key(name)
            switch entry {
            case .text(let text): output.string(text)
            case .list(let list): output.strings(list)
            case .flag(let flag): output.bool(flag)
            }
        }
        output.raw("}")
    }

    private enum Entry {
        case text(String)
        case list([String])
        case flag(Bool)
    }

    /// Parses PocketBase's `fields` parameter (`id,content`, `*`); nil means every field.
    /// Modifiers such as `:excerpt(...)` are not supported: the name before `:` is used.
    static func fieldSelection(_ parameter: String?) -> Set<String>? {
        guard let parameter, !parameter.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        var names = Set<String>()
        for part in parameter.split(separator: ",") {
            let name = part.split(separator: ":", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if name == "*" { return nil }
            if !name.isEmpty { names.insert(name) }
        }
        return names
    }
}

/// PocketBase's list envelope.
struct ListEnvelope: JSONWritable, Sendable {
    let items: [RecordView]
    let page: Int
    let perPage: Int
    let totalItems: Int
    let totalPages: Int

    func writeJSON(into output: inout JSONOutput) {
        output.raw("{\"items\":[")
        for (index, item) in items.enumerated() {
            if index > 0 { output.comma() }
            item.writeJSON(into: &output)
        }
        output.raw("],\"page\":")
        output.int(page)
        output.raw(",\"perPage\":")
        output.int(perPage)
        output.raw(",\"totalItems\":")
        output.int(totalItems)
        output.raw(",\"totalPages\":")
        output.int(totalPages)
        output.raw("}")
    }
}

/// The answer to a successful auth: `{"record": ..., "token": ...}`.
struct AuthResponse: Encodable, Sendable {
    let record: RecordView
    let token: String
}
