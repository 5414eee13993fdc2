import StoaCore

/// Which changes of a record the log holds: per origin and lineage (the owner the change is
/// filed under), the number of the newest one logged. Stored beside the record's state
/// (`record_state.logged`), so a write finds the change it supersedes (and a change the changes
/// it covers) by the log's primary key, without an index over the log by record.
///
/// Contract: after every change the log takes, the entry of its origin and lineage is at least
/// its number (``noting(origin:owner:seq:floor:)``). An entry may name a change that has since
/// left the log (compacted, or covered by a change of another lineage): readers look the change
/// up and check its record and lineage. Entries at or below their origin's floor are dropped
/// when the record is next written (the floor removed those changes).
///
/// Why not an index: `changes_record (collection, record_id, origin)` put one random B-tree page
/// per write into the write-ahead log (record ids are random), which cost creates/s 4-10 % in
/// alternating runs (benchmarks/RESULTS.md, "Bounded history, run 3"); the record's state row is
/// written by the same write anyway.
struct LoggedChanges: Equatable, Sendable {
    struct Key: Hashable, Sendable {
        var origin: String
        var owner: String
    }

    private(set) var newest: [Key: UInt64] = [:]

    init() {}

    /// The stored form's contents; nil (or unreadable bytes) is no entry.
    init(stored: [UInt8]?) {
        guard let stored, !stored.isEmpty else { return }
        var reader = WireReader(stored)
        do {
            let count = try reader.count()
            for _ in 0..<count {
                let origin = try reader.string()
                let owner = try reader.string()
                newest[Key(origin: origin, owner: owner)] = try reader.varint()
            }
        } catch {
            newest = [:]
        }
    }

    /// The stored form (nil when empty), entries in a fixed order.
    var stored: [UInt8]? {
        guard !newest.isEmpty else { return nil }
        var writer = WireWriter()
        writer.count(newest.count)
        for (key, seq) in newest.sorted(by: { ($0.key.origin, $0.key.owner) < ($1.key.origin, $1.key.owner) }) {
            writer.string(key.origin)
            writer.string(key.owner)
            writer.varint(seq)
        }
        return writer.bytes
    }

    /// The newest logged change of `origin` to lineage `owner`, if any.
    func seq(origin: String, owner: String) -> UInt64? {
        newest[Key(origin: origin, owner: owner)]
    }

    /// Numbers of `origin`'s changes (any lineage) the entries name.
    func seqs(origin: String) -> [UInt64] {
        newest.compactMap { $0.key.origin == origin ? $0.value : nil }
    }

    /// These entries after the log took change `seq` of `origin` to lineage `owner`, without the
    /// entries at or below their origin's mark in `floor`.
    func noting(origin: String, owner: String, seq: UInt64, floor: VersionVector) -> LoggedChanges {
        var next = self
        let key = Key(origin: origin, owner: owner)
        next.newest[key] = max(seq, newest[key] ?? 0)
        next.newest = next.newest.filter { $0.value > (floor.entries[$0.key.origin]?.contiguous ?? 0) }
        return next
    }
}
