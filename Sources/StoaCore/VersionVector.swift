/// What a replica has seen of every origin's change sequence: per origin the highest number
/// up to which every change is present, plus the numbers seen above it (the gaps' complement).
///
/// Merge is per-origin union, so it is commutative, associative and idempotent.
public struct VersionVector: Hashable, Sendable, Codable {
    public struct Entry: Hashable, Sendable, Codable {
        /// Every number in `1...contiguous` has been seen.
        public var contiguous: UInt64
        /// Numbers above `contiguous + 1` that have been seen (never contains `contiguous + 1`).
        public var extra: Set<UInt64>

        public init(contiguous: UInt64 = 0, extra: Set<UInt64> = []) {
            self.contiguous = contiguous
            self.extra = extra
        }

        public func contains(_ seq: UInt64) -> Bool { seq <= contiguous || extra.contains(seq) }

        /// The highest number seen.
        public var maximum: UInt64 { max(contiguous, extra.max() ?? 0) }

        mutating func insert(_ seq: UInt64) {
            guard seq > contiguous else { return }
            extra.insert(seq)
            absorbExtra()
        }

        /// Moves `contiguous` up over the extra numbers that follow it (never past `UInt64.max`).
        mutating func absorbExtra() {
            while contiguous < UInt64.max, extra.remove(contiguous + 1) != nil { contiguous += 1 }
        }

        /// True in the form ``insert(_:)`` and merge keep, with every number a valid sequence
        /// number (at most ``VersionVector/maxSeq``): every extra number is above `contiguous + 1`.
        public var isWellFormed: Bool {
            contiguous <= VersionVector.maxSeq
                && extra.allSatisfy { $0 <= VersionVector.maxSeq && $0 > contiguous && $0 - contiguous > 1 }
        }

        private enum CodingKeys: String, CodingKey { case contiguous = "c", extra = "x" }
    }

    public private(set) var entries: [String: Entry]

    /// The largest sequence number there can be: numbers are stored as SQLite's signed 64-bit
    /// integers. A vector from outside (a sync cursor, a peer) holding a larger one is malformed.
    public static let maxSeq = UInt64(Int64.max)

    /// True when every entry is well formed (``Entry/isWellFormed``). Vectors built by
    /// ``insert(origin:seq:)`` and ``merge(_:)`` from valid numbers always are; a vector decoded
    /// from outside MUST be checked before it is used.
    public var isWellFormed: Bool { entries.values.allSatisfy(\.isWellFormed) }

    public init(entries: [String: Entry] = [:]) { self.entries = entries }

    public func contains(origin: String, seq: UInt64) -> Bool {
        entries[origin]?.contains(seq) ?? false
    }

    /// Records that change `seq` of `origin` is present.
    public mutating func insert(origin: String, seq: UInt64) {
        entries[origin, default: Entry()].insert(seq)
    }

    public mutating func merge(_ other: VersionVector) {
        for (origin, entry) in other.entries {
            var mine = entries[origin, default: Entry()]
            if entry.contiguous > mine.contiguous {
                // Everything up to the other's contiguous mark is present.
                mine.extra = mine.extra.filter { $0 > entry.contiguous }
                mine.contiguous = entry.contiguous
                mine.absorbExtra()
            }
            for seq in entry.extra { mine.insert(seq) }
            entries[origin] = mine
        }
    }

    /// True when every change `other` has seen is also seen here.
    public func dominates(_ other: VersionVector) -> Bool {
        other.entries.allSatisfy { origin, entry in
            let mine = entries[origin] ?? Entry()
            return mine.contiguous >= entry.contiguous
                || (entry.contiguous - mine.contiguous <= 4096
                    && (mine.contiguous + 1...entry.contiguous).allSatisfy { mine.contains($0) })
        } && other.entries.allSatisfy { origin, entry in
            entry.extra.allSatisfy { contains(origin: origin, seq: $0) }
        }
    }

    /// The part of this vector that comes up to and including (`origin`, `seq`) in (origin, seq)
    /// order: the whole entry of every origin sorted before `origin`, `origin`'s entry through
    /// `seq`, and nothing of later origins. A paged scan in that order covers exactly this.
    public func prefix(through origin: String, seq: UInt64) -> VersionVector {
        var out = VersionVector()
        for (name, entry) in entries where name <= origin {
            guard name == origin else { out.entries[name] = entry; continue }
            let cut = Entry(contiguous: min(entry.contiguous, seq), extra: entry.extra.filter { $0 <= seq })
            if cut.contiguous > 0 || !cut.extra.isEmpty { out.entries[name] = cut }
        }
        return out
    }

    /// This vector merged with `other`.
    public func merged(_ other: VersionVector) -> VersionVector {
        var copy = self
        copy.merge(other)
        return copy
    }
}
