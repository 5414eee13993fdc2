import StoaCore

/// The compact binary encoding of ``WireMessage``.
///
/// Layout: one version byte (``version``), one tag byte (1 `swim`, 2 `vector`, 3 `changes`,
/// 4 `snapshot`, 5 `hello`, 6 `loginFailures`, 7 `limits`, 8 `cacheNotice`, 9 `cacheAck`),
/// then the fields in declaration order. Integers are LEB128 varints (signed ones zigzag
/// mapped), strings a varint byte count followed by UTF-8, doubles 8 bytes little-endian,
/// optionals a 0/1 byte. Sets and maps are written sorted (strings by UTF-8 bytes), so equal
/// messages have equal encodings, and the decoder accepts only that canonical form.
///
/// Decoding never traps and never allocates much more than the input: every length is
/// checked against the bytes left, counts are capped at 100 000 and strings at 1 MiB, and an
/// unknown version or tag, invalid UTF-8, a non-canonical order or trailing bytes are
/// rejected with a ``WireCodecError``. Authentication is added around these bytes by the
/// transport.
public enum WireCodec {
    /// The format version written as the first byte; other versions are rejected.
    ///
    /// Version 2 (bounded history, authenticated streams) added a change's covered numbers, the
    /// `snapshot` message and the `hello` a stream starts with; version 3 (accounts) a change's
    /// and a snapshot record's lineage owner and the `loginFailures` message. Nodes of different
    /// versions do not understand each other (README, "Upgrading").
    public static let version: UInt8 = 3

    enum Tag: UInt8 {
        case swim = 1
        case vector = 2
        case changes = 3
        case snapshot = 4
        case hello = 5
        case loginFailures = 6
        case limits = 7
        case cacheNotice = 8
        case cacheAck = 9
    }

    // MARK: - Entry points

    /// Encodes a message; deterministic (equal messages give equal bytes).
    public static func encode(_ message: WireMessage) -> [UInt8] {
        var writer = WireWriter()
        writer.byte(version)
        switch message {
        case .swim(let envelope):
            writer.byte(Tag.swim.rawValue)
            write(envelope, into: &writer)
        case .vector(let from, let vector):
            writer.byte(Tag.vector.rawValue)
            writer.string(from)
            write(vector, into: &writer)
        case .changes(let from, let changes, let vector):
            writer.byte(Tag.changes.rawValue)
            writer.string(from)
            writer.count(changes.count)
            for change in changes { write(change, into: &writer) }
            if let vector {
                writer.bool(true)
                write(vector, into: &writer)
            } else {
                writer.bool(false)
            }
        case .snapshot(let from, let batch):
            writer.byte(Tag.snapshot.rawValue)
            writer.string(from)
            writer.varint(batch.id)
            writer.varint(batch.index)
            writer.bool(batch.isLast)
            write(batch.floor, into: &writer)
            writer.count(batch.records.count)
            for record in batch.records {
                writer.string(record.collection)
                writer.string(record.recordID)
                writer.string(record.owner)
                RecordStateCodec.write(record.state, into: &writer)
            }
        case .loginFailures(let from, let keys):
            writer.byte(Tag.loginFailures.rawValue)
            writer.string(from)
            writer.count(keys.count)
            for key in keys { writer.raw(key) }
        case .hello(let from):
            writer.byte(Tag.hello.rawValue)
            writer.string(from)
        case .limits(let from, let entries):
            writer.byte(Tag.limits.rawValue)
            writer.string(from)
            writer.count(entries.count)
            for entry in entries {
                writer.string(entry.policy)
                writer.string(entry.key)
                writer.varint(entry.count)
            }
        case .cacheNotice(let from, let notice):
            writer.byte(Tag.cacheNotice.rawValue)
            writer.string(from)
            writer.varint(notice.epoch)
            writer.varint(notice.sequence)
            writer.count(notice.invalidations.count)
            for invalidation in notice.invalidations {
                writer.string(invalidation.user)
                writer.string(invalidation.writer)
                writer.string(invalidation.collection)
                if let recordID = invalidation.recordID {
                    writer.bool(true)
                    writer.string(recordID)
                } else {
                    writer.bool(false)
                }
                writer.bool(invalidation.everyRecord)
                writer.string(invalidation.node)
            }
        case .cacheAck(let from, let epoch, let sequence):
            writer.byte(Tag.cacheAck.rawValue)
            writer.string(from)
            writer.varint(epoch)
            writer.varint(sequence)
        }
        return writer.bytes
    }

    /// Decodes exactly one message occupying all of `bytes`.
    ///
    /// - Throws: ``WireCodecError`` for anything but a canonical encoding of this version.
    public static func decode(_ bytes: [UInt8]) throws(WireCodecError) -> WireMessage {
        var reader = WireReader(bytes)
        let version = try reader.byte()
        guard version == Self.version else { throw WireCodecError(reason: "unsupported version \(version)") }
        let rawTag = try reader.byte()
        guard let tag = Tag(rawValue: rawTag) else { throw WireCodecError(reason: "unknown message tag \(rawTag)") }
        let message: WireMessage
        switch tag {
        case .swim:
            message = .swim(try readEnvelope(from: &reader))
        case .vector:
            let from = try reader.string()
            message = .vector(from: from, try readVector(from: &reader))
        case .changes:
            let from = try reader.string()
            let count = try reader.count()
            var changes: [Change] = []
            changes.reserveCapacity(count)
            for _ in 0..<count { changes.append(try readChange(from: &reader)) }
            let vector = try reader.bool() ? try readVector(from: &reader) : nil
            message = .changes(from: from, changes, vector: vector)
        case .snapshot:
            let from = try reader.string()
            let id = try reader.varint()
            let index = try reader.varint()
            let isLast = try reader.bool()
            let floor = try readVector(from: &reader)
            let count = try reader.count()
            var records: [RecordSnapshot] = []
            records.reserveCapacity(count)
            for _ in 0..<count {
                let collection = try reader.string()
                let recordID = try reader.string()
                let owner = try reader.string()
                records.append(RecordSnapshot(collection: collection, recordID: recordID, state: try readRecordState(from: &reader), owner: owner))
            }
            message = .snapshot(from: from, SnapshotBatch(id: id, index: index, isLast: isLast, floor: floor, records: records))
        case .hello:
            message = .hello(from: try reader.string())
        case .loginFailures:
            let from = try reader.string()
            let count = try reader.count()
            var keys: [[UInt8]] = []
            keys.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                keys.append(try reader.raw(count: 32))
            }
            message = .loginFailures(from: from, keys)
        case .limits:
            let from = try reader.string()
            let count = try reader.count()
            var entries: [LimitReportEntry] = []
            entries.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                let policy = try reader.string()
                let key = try reader.string()
                entries.append(LimitReportEntry(policy: policy, key: key, count: try reader.varint()))
            }
            message = .limits(from: from, entries)
        case .cacheNotice:
            let from = try reader.string()
            let epoch = try reader.varint()
            let sequence = try reader.varint()
            let count = try reader.count()
            var invalidations: [CacheInvalidation] = []
            invalidations.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                let user = try reader.string()
                let writer = try reader.string()
                let collection = try reader.string()
                let recordID = try reader.bool() ? try reader.string() : nil
                let everyRecord = try reader.bool()
                invalidations.append(CacheInvalidation(
                    user: user, writer: writer, collection: collection, recordID: recordID, everyRecord: everyRecord, node: try reader.string()
                ))
            }
            message = .cacheNotice(from: from, CacheNotice(epoch: epoch, sequence: sequence, invalidations: invalidations))
        case .cacheAck:
            let from = try reader.string()
            let epoch = try reader.varint()
            message = .cacheAck(from: from, epoch: epoch, sequence: try reader.varint())
        }
        try reader.finish()
        return message
    }

    // MARK: - Canonical order

    /// Strings order by their UTF-8 bytes: platform-independent and cheap.
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    /// Stamps order by HLC, then node name bytes.
    static func precedes(_ lhs: Stamp, _ rhs: Stamp) -> Bool {
        if lhs.hlc != rhs.hlc { return lhs.hlc < rhs.hlc }
        return precedes(lhs.node, rhs.node)
    }

    // MARK: - Version vectors

    /// Origins sorted; per origin the contiguous mark, then the extra numbers ascending, the
    /// first absolute and each next one as the (positive) difference to the previous.
    static func write(_ vector: VersionVector, into writer: inout WireWriter) {
        let entries = vector.entries.sorted { precedes($0.key, $1.key) }
        writer.count(entries.count)
        for (origin, entry) in entries {
            writer.string(origin)
            writer.varint(entry.contiguous)
            let extra = entry.extra.sorted()
            writer.count(extra.count)
            var previous: UInt64 = 0
            for (index, seq) in extra.enumerated() {
                writer.varint(index == 0 ? seq : seq - previous)
                previous = seq
            }
        }
    }

    static func readVector(from reader: inout WireReader) throws(WireCodecError) -> VersionVector {
        let count = try reader.count()
        var entries: [String: VersionVector.Entry] = [:]
        var previousOrigin: String?
        for _ in 0..<count {
            let origin = try reader.string()
            try requireAscending(previousOrigin, origin)
            previousOrigin = origin
            let contiguous = try reader.varint()
            let extraCount = try reader.count()
            var extra = Set<UInt64>()
            extra.reserveCapacity(extraCount)
            var previous: UInt64 = 0
            for index in 0..<extraCount {
                let step = try reader.varint()
                if index == 0 {
                    previous = step
                } else {
                    guard step > 0 else { throw WireCodecError(reason: "extra numbers not ascending") }
                    let (next, overflow) = previous.addingReportingOverflow(step)
                    guard !overflow else { throw WireCodecError(reason: "extra number overflows") }
                    previous = next
                }
                extra.insert(previous)
            }
            let entry = VersionVector.Entry(contiguous: contiguous, extra: extra)
            guard entry.isWellFormed else { throw WireCodecError(reason: "version vector entry out of range or not canonical") }
            guard entries.updateValue(entry, forKey: origin) == nil else {
                throw WireCodecError(reason: "duplicate origin")
            }
        }
        return VersionVector(entries: entries)
    }

    /// Fails unless `next` sorts strictly after `previous` (when there is one).
    static func requireAscending(_ previous: String?, _ next: String) throws(WireCodecError) {
        if let previous, !precedes(previous, next) {
            throw WireCodecError(reason: "keys not in canonical order")
        }
    }
}
