import StoaCore
import StoaStore

/// The reference the final state is checked against: an independent, simple model that
/// applies the acknowledged writes of each quote in stamp order (HLC, then node id) under the
/// documented rules (DESIGN.md, "Replication semantics"), without calling the CRDT merge:
///
/// - each field keeps the value of the last write (greatest stamp) that set it;
/// - the causal length keeps the greatest (length, stamp); odd is live, even deleted;
/// - a tag is present while one of its add tags has not been removed by a write that
///   observed it (add wins over a concurrent remove);
/// - tags show in the order of the last tag list written, then the others sorted;
/// - `updated` is the time of the greatest stamp of any write to the quote.
///
/// Its output is what the store's `list` shows: one ``StoredRecord`` per live quote.
struct ReferenceModel {
    /// What the model expects of one quote.
    struct Expected {
        var live: Bool
        var fields: [String: (value: FieldValue, stamp: Stamp)]
        var lengthWrite: (length: UInt64, stamp: Stamp)
        var tags: [String]
        var orderedTags: [String]
        var touched: Stamp
    }

    /// Writes per quote id of the lineage everyone sees, each list in stamp order.
    let writes: [String: [ModelWrite]]
    /// Writes of the other lineages (a create of the id by another user, and that user's
    /// writes): they must be held but never show.
    let hidden: [String: [ModelWrite]]

    /// Splits each quote's writes by lineage (the owner the origin attributed them to): the
    /// lineage whose earliest create (a write setting `userId`) is earliest — ties by owner — is
    /// the one everyone sees (DESIGN notes: owners are fixed at creation).
    init(_ all: [ModelWrite]) {
        var byRecord: [String: [String: [ModelWrite]]] = [:]
        for write in all { byRecord[write.write.recordID, default: [:]][write.owner, default: []].append(write) }
        var visible: [String: [ModelWrite]] = [:]
        var hidden: [String: [ModelWrite]] = [:]
        for (id, lineages) in byRecord {
            let established = lineages.compactMap { owner, writes -> (Stamp, String)? in
                writes.filter { $0.fields[RecordState.ownerField] != nil }.map(\.stamp).min().map { ($0, owner) }
            }
            let winner = established.min { $0 < $1 }?.1 ?? lineages.keys.min() ?? ""
            for (owner, writes) in lineages {
                let sorted = writes.sorted { $0.stamp < $1.stamp }
                if owner == winner { visible[id] = sorted } else { hidden[id, default: []] += sorted }
            }
        }
        writes = visible
        self.hidden = hidden
    }

    /// The expected state of the quote `id` (nil when no write touched it).
    func expected(_ id: String) -> Expected? {
        guard let list = writes[id], !list.isEmpty else { return nil }
        var fields: [String: (value: FieldValue, stamp: Stamp)] = [:]
        var lengthWrite: (length: UInt64, stamp: Stamp) = (0, .zero)
        var adds: [String: Set<Stamp>] = [:]
        var removes: [String: Set<Stamp>] = [:]
        var touched = Stamp.zero
        for write in list {
            // The owner is first-writer-wins (fixed by the earliest create); the rest last-writer-wins.
            for (name, value) in write.fields where name != RecordState.ownerField || fields[name] == nil { fields[name] = (value, write.stamp) }
            if let length = write.length, (length, write.stamp) > (lengthWrite.length, lengthWrite.stamp) {
                lengthWrite = (length, write.stamp)
            }
            for (tag, stamps) in write.tagAdds { adds[tag, default: []].formUnion(stamps) }
            for (tag, stamps) in write.tagRemoves { removes[tag, default: []].formUnion(stamps) }
            touched = max(touched, write.stamp)
        }
        let present = adds.keys.filter { !(adds[$0] ?? []).isSubset(of: removes[$0] ?? []) }.sorted()
        var ordered: [String] = []
        if case .strings(let order)? = fields[RecordState.tagOrderField]?.value {
            let presentSet = Set(present)
            for tag in order where presentSet.contains(tag) && !ordered.contains(tag) { ordered.append(tag) }
        }
        ordered += present.filter { !ordered.contains($0) }
        return Expected(
            live: lengthWrite.length % 2 == 1, fields: fields, lengthWrite: lengthWrite, tags: present,
            orderedTags: ordered, touched: touched
        )
    }

    /// Every live quote as the store's list shows it, by id.
    func expectedRows() -> [String: StoredRecord] {
        var rows: [String: StoredRecord] = [:]
        for id in writes.keys {
            guard let expected = expected(id), expected.live else { continue }
            var values: [String: FieldValue] = [:]
            for field in CollectionSchema.quotes.fields where field.kind == .text {
                values[field.name] = .string(Self.text(expected.fields[field.name]?.value))
            }
            rows[id] = StoredRecord(
                collection: "quotes", id: id, values: values, tags: expected.orderedTags,
                created: Self.text(expected.fields["created"]?.value),
                updated: PocketBaseDate.format(millis: expected.touched.hlc.millis)
            )
        }
        return rows
    }

    /// How a text column shows a value (the workload only writes strings).
    static func text(_ value: FieldValue?) -> String {
        switch value {
        case .string(let text): return text
        case .null, nil: return ""
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number): return String(number)
        case .strings(let list): return list.joined(separator: ",")
        }
    }
}
