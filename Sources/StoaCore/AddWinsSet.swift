/// An add-wins observed-remove set of strings (Shapiro et al., "A comprehensive study of
/// Convergent and Commutative Replicated Data Types", 2011, §3.3.5 OR-Set).
///
/// Every add is tagged with the unique ``Stamp`` of the write that made it. A remove tombstones
/// exactly the add tags it observed, so an add concurrent with a remove survives. State is the
/// union of adds and tombstones per element; merge is set union, hence commutative, associative
/// and idempotent.
public struct AddWinsSet: Hashable, Sendable, Codable {
    /// Per element: the add tags seen and the add tags removed.
    public private(set) var entries: [String: Entry]

    public struct Entry: Hashable, Sendable, Codable {
        public var adds: Set<Stamp>
        public var removes: Set<Stamp>

        public init(adds: Set<Stamp> = [], removes: Set<Stamp> = []) {
            self.adds = adds
            self.removes = removes
        }

        public var isPresent: Bool { !adds.isSubset(of: removes) }

        mutating func merge(_ other: Entry) {
            adds.formUnion(other.adds)
            removes.formUnion(other.removes)
        }

        private enum CodingKeys: String, CodingKey { case adds = "a", removes = "r" }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            adds = Set(try container.decode([Stamp].self, forKey: .adds))
            removes = Set(try container.decodeIfPresent([Stamp].self, forKey: .removes) ?? [])
        }

        /// Encodes tags sorted, so equal states have byte-equal encodings (digests rely on it).
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(adds.sorted(), forKey: .adds)
            if !removes.isEmpty { try container.encode(removes.sorted(), forKey: .removes) }
        }
    }

    public init() { entries = [:] }

    /// Rebuilds a set from its raw state (per element: add tags and removed tags), as wire
    /// decoding does; `AddWinsSet(entries: s.entries) == s` for every set `s`.
    public init(entries: [String: Entry]) { self.entries = entries }

    /// Elements currently present, sorted for a stable output order.
    public var elements: [String] { entries.filter { $0.value.isPresent }.keys.sorted() }

    public func contains(_ element: String) -> Bool { entries[element]?.isPresent ?? false }

    /// The delta that adds `element` with tag `stamp`.
    public static func addDelta(_ element: String, stamp: Stamp) -> AddWinsSet {
        var delta = AddWinsSet()
        delta.entries[element] = Entry(adds: [stamp])
        return delta
    }

    /// The delta that removes `element` as currently observed by `self` (all its live add tags).
    public func removeDelta(_ element: String) -> AddWinsSet {
        var delta = AddWinsSet()
        guard let entry = entries[element] else { return delta }
        let live = entry.adds.subtracting(entry.removes)
        delta.entries[element] = Entry(adds: live, removes: live)
        return delta
    }

    /// The delta that turns the present elements into exactly `target` (order ignored): adds for
    /// the missing ones, removes for the extra ones.
    public func assignDelta(_ target: [String], stamp: Stamp) -> AddWinsSet {
        let wanted = Set(target)
        var delta = AddWinsSet()
        for element in wanted where !contains(element) {
            delta.merge(Self.addDelta(element, stamp: stamp))
        }
        for element in elements where !wanted.contains(element) {
            delta.merge(removeDelta(element))
        }
        return delta
    }

    public var isEmpty: Bool { entries.isEmpty }

    public mutating func merge(_ other: AddWinsSet) {
        for (element, entry) in other.entries {
            entries[element, default: Entry()].merge(entry)
        }
    }

    public init(from decoder: any Decoder) throws {
        entries = try decoder.singleValueContainer().decode([String: Entry].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(entries)
    }
}
