import Foundation
import StoaCore
import StoaStore

/// A record as PocketBase serializes it (keys come out sorted because the response encoder
/// sorts them, as PocketBase's map encoding does): system fields
/// `collectionId`, `collectionName`, `id`, `created`, `updated`, the collection's visible fields,
/// `expand` when the client asked for it, optionally narrowed by the `fields` query parameter.
///
/// `fields` reaches into `expand` as PocketBase's picker does: `expand` or `expand.userId`
/// keeps that part whole, `expand.userId.name` keeps only `name` of the expanded record, and a
/// selection naming nothing under `expand` drops it.
struct RecordView: JSONWritable, Sendable {
    let record: StoredRecord
    let schema: CollectionSchema
    /// Field paths the client asked for with `?fields=` (`*` keeps every field of the record,
    /// `expand.…` paths reach into `expand`); nil for all.
    let only: Set<String>?
    /// For auth collections: whether `email` is shown (to its owner, or when emailVisibility).
    let showEmail: Bool
    /// The expanded relations by field name (`"expand":{...}`); nil writes no `expand` key, an
    /// empty map `"expand":{}` (PocketBase's answer when a relation was asked for but the
    /// caller may not see its record).
    var expand: [String: RecordView]?
    /// `:excerpt(...)` modifiers of the `fields` parameter by path, applied to text fields
    /// (paths under `expand.` apply inside the expanded records).
    var excerpts: [String: FieldExcerpt]

    init(record: StoredRecord, schema: CollectionSchema, only: Set<String>?, showEmail: Bool, expand: [String: RecordView]? = nil, excerpts: [String: FieldExcerpt] = [:]) {
        self.record = record
        self.schema = schema
        self.only = only
        self.showEmail = showEmail
        self.expand = expand
        self.excerpts = excerpts
    }

    /// A record narrowed and modified by a parsed `fields` parameter.
    init(record: StoredRecord, schema: CollectionSchema, fields: FieldSelection, showEmail: Bool, expand: [String: RecordView]? = nil) {
        self.init(record: record, schema: schema, only: fields.names, showEmail: showEmail, expand: expand, excerpts: fields.excerpts)
    }

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
            case .expand(let views):
                var nested = container.nestedContainer(keyedBy: Key.self, forKey: Key(name))
                for (relation, view) in views { try nested.encode(view, forKey: Key(relation)) }
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
        if let only, !only.contains("*") { entries.removeAll { !only.contains($0.0) } }
        if !excerpts.isEmpty {
            for index in entries.indices {
                if case .text(let text) = entries[index].1, let excerpt = excerpts[entries[index].0] {
                    entries[index].1 = .text(excerpt.apply(text))
                }
            }
        }
        if let expand, let views = selectExpand(expand) {
            entries.append(("expand", .expand(views)))
        }
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
            case .expand(let views):
                output.raw("{")
                for (index, (relation, view)) in views.enumerated() {
                    if index > 0 { output.comma() }
                    output.key(relation)
                    view.writeJSON(into: &output)
                }
                output.raw("}")
            }
        }
        output.raw("}")
    }

    private enum Entry {
        case text(String)
        case list([String])
        case flag(Bool)
        case expand([(String, RecordView)])
    }

    /// The expanded records `only` keeps, sorted by relation name, each narrowed to the fields
    /// named under `expand.<relation>.`; nil when `only` keeps no part of `expand`. `*` keeps
    /// `expand` whole unless paths under `expand.` narrow it (PocketBase's picker:
    /// `*,expand.userId.name` is every field, and of the expanded user only `name`).
    private func selectExpand(_ expand: [String: RecordView]) -> [(String, RecordView)]? {
        let sorted = expand.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        guard let only, !only.contains("expand") else { return sorted.map { ($0.key, $0.value) } }
        guard only.contains(where: { $0.hasPrefix("expand.") }) else {
            return only.contains("*") ? sorted.map { ($0.key, $0.value) } : nil
        }
        var kept: [(String, RecordView)] = []
        for (relation, view) in sorted {
            if only.contains("expand." + relation) {
                kept.append((relation, view))
                continue
            }
            guard let nested = FieldSelection(names: only, excerpts: excerpts).nested(under: "expand." + relation) else { continue }
            var narrowed = RecordView(record: view.record, schema: view.schema, fields: nested, showEmail: view.showEmail)
            narrowed.expand = view.expand
            kept.append((relation, narrowed))
        }
        return kept
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
