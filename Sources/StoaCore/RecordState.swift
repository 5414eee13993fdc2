/// The replicated state of one record: a last-writer-wins register per field, an add-wins set of
/// tags, a causal length for delete/restore, and the stamp of the newest write seen.
///
/// A ``RecordState`` is also the unit of change: a local write is expressed as a *delta* state
/// holding only what it touched, and applying a change is ``merge(_:)``. Merge is commutative,
/// associative and idempotent, so replicas that have merged the same set of deltas are equal
/// whatever the order or repetition of delivery.
public struct RecordState: Hashable, Sendable, Codable {
    /// Field registers by field name (never includes `tags`).
    public var fields: [String: LWWRegister<FieldValue>]
    /// The record's tags.
    public var tags: AddWinsSet
    /// Odd when live, even when deleted, 0 when no create has been seen.
    public var length: CausalLength
    /// Stamp of the write that set ``length``; among equal lengths the greater stamp is kept.
    public var lengthStamp: Stamp
    /// The greatest stamp of any write merged into this state; drives `updated`.
    public var touched: Stamp

    public init(
        fields: [String: LWWRegister<FieldValue>] = [:],
        tags: AddWinsSet = AddWinsSet(),
        length: CausalLength = .absent,
        lengthStamp: Stamp = .zero,
        touched: Stamp = .zero
    ) {
        self.fields = fields
        self.tags = tags
        self.length = length
        self.lengthStamp = lengthStamp
        self.touched = touched
    }

    /// True when the record exists and is not deleted.
    public var isLive: Bool { length.isLive }

    /// The current value of a field, or `nil` when it was never written.
    public subscript(field: String) -> FieldValue? { fields[field]?.value }

    /// The field register that remembers the order of the last tag list a client wrote. Order
    /// is presentation only: membership always comes from the add-wins set.
    public static let tagOrderField = "tags"

    /// The present tags in the order a client last wrote them; tags that list does not know
    /// (added concurrently elsewhere) follow, sorted. Deterministic given the state, so
    /// replicas with equal states show equal lists.
    public var orderedTags: [String] {
        let present = tags.elements
        guard case .strings(let order)? = self[Self.tagOrderField] else { return present }
        let presentSet = Set(present)
        var seen = Set<String>()
        var out = order.filter { presentSet.contains($0) && seen.insert($0).inserted }
        out.append(contentsOf: present.filter { !seen.contains($0) })
        return out
    }

    /// The register naming the user who owns the record. It is first-writer-wins: the
    /// earliest create's stamp is kept (all writes of one lineage name the same owner, so only
    /// the stamp can differ), which makes it the lineage's *establishing* stamp
    /// (``establishedAt``).
    public static let ownerField = "userId"

    /// When this lineage was established: the stamp of its earliest create (the owner
    /// register's), nil before a create of it has been merged.
    public var establishedAt: Stamp? { fields[Self.ownerField]?.stamp }

    public mutating func merge(_ other: RecordState) {
        for (name, register) in other.fields {
            if let mine = fields[name] {
                // The owner is fixed by the earliest create; every other field is last-writer-wins.
                fields[name] = name == Self.ownerField ? (register.stamp < mine.stamp ? register : mine) : mine.merged(register)
            } else {
                fields[name] = register
            }
        }
        tags.merge(other.tags)
        if (other.length, other.lengthStamp) > (length, lengthStamp) {
            length = other.length
            lengthStamp = other.lengthStamp
        }
        touched = max(touched, other.touched)
    }

    public func merged(_ other: RecordState) -> RecordState {
        var copy = self
        copy.merge(other)
        return copy
    }

    private enum CodingKeys: String, CodingKey {
        case fields = "f", tags = "t", length = "l", lengthStamp = "ls", touched = "u"
    }
}

extension RecordState {
    // MARK: - Building deltas for local writes

    /// The delta of a create at `stamp` with the given field values and tags.
    public static func createDelta(fields values: [String: FieldValue], tags: [String], stamp: Stamp, over current: RecordState) -> RecordState {
        var delta = RecordState(touched: stamp)
        for (name, value) in values {
            delta.fields[name] = LWWRegister(value: value, stamp: stamp)
        }
        delta.tags = current.tags.assignDelta(tags, stamp: stamp)
        delta.fields[tagOrderField] = LWWRegister(value: .strings(tags), stamp: stamp)
        delta.length = current.length.restored()
        delta.lengthStamp = stamp
        return delta
    }

    /// The delta of an update at `stamp`: only the given fields, and tags only when `tags` is
    /// non-nil (turned into adds and removes against the current value).
    public static func updateDelta(fields values: [String: FieldValue], tags: [String]?, stamp: Stamp, over current: RecordState) -> RecordState {
        updateDelta(fields: values, tagEdit: tags.map(TagEdit.assign), stamp: stamp, over: current)
    }

    /// The delta of an update at `stamp`: only the given fields, and the tag edit when non-nil.
    public static func updateDelta(fields values: [String: FieldValue], tagEdit: TagEdit?, stamp: Stamp, over current: RecordState) -> RecordState {
        var delta = RecordState(touched: stamp)
        for (name, value) in values {
            delta.fields[name] = LWWRegister(value: value, stamp: stamp)
        }
        switch tagEdit {
        case nil:
            break
        case .assign(let tags):
            delta.tags = current.tags.assignDelta(tags, stamp: stamp)
            delta.fields[tagOrderField] = LWWRegister(value: .strings(tags), stamp: stamp)
        case .modify(let add, let remove):
            let removed = Set(remove)
            for tag in add where !removed.contains(tag) { delta.tags.merge(AddWinsSet.addDelta(tag, stamp: stamp)) }
            for tag in removed { delta.tags.merge(current.tags.removeDelta(tag)) }
            var order = current.orderedTags.filter { !removed.contains($0) }
            order.append(contentsOf: add.filter { !removed.contains($0) && !order.contains($0) })
            delta.fields[tagOrderField] = LWWRegister(value: .strings(order), stamp: stamp)
        }
        return delta
    }

    /// The delta of a delete at `stamp`: the next even causal length.
    public static func deleteDelta(stamp: Stamp, over current: RecordState) -> RecordState {
        RecordState(length: current.length.deleted(), lengthStamp: stamp, touched: stamp)
    }

    /// The delta of a restore at `stamp`: the next odd causal length.
    public static func restoreDelta(stamp: Stamp, over current: RecordState) -> RecordState {
        RecordState(length: current.length.restored(), lengthStamp: stamp, touched: stamp)
    }
}
