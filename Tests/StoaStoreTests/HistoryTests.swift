import Foundation
import GRDB
import StoaCore
import Testing
@testable import StoaStore

/// Issue 13: the log is bounded (one change per record and origin, compaction to the stable
/// point), replicas below the floor are caught up by state transfer, backups restore.
@Suite("Bounded history")
struct HistoryTests {
    let clock = TestClock()
    let owner = "alice0000000001"

    func node(_ name: String) throws -> StoaDatabase {
        try StoaDatabase.inMemory(nodeName: name, physicalMillis: clock.now)
    }

    func id(_ n: Int) -> String { String(format: "rec%012d", n) }

    func create(_ db: StoaDatabase, _ n: Int, content: String = "q") async throws {
        _ = try await db.create(.quotes, id: id(n), fields: ["content": .string(content), "userId": .string(owner)])
    }

    func logSeqs(_ db: StoaDatabase) async throws -> [UInt64] {
        try await db.changes(notIn: VersionVector(), limit: .max).map(\.seq)
    }

    /// Brings `to` up to date from `from` the way the shell does: a state transfer when it lacks
    /// changes below `from`'s floor, then the log.
    func catchUp(_ to: StoaDatabase, from: StoaDatabase, batch: Int = 7) async throws -> Bool {
        var theirs = to.versionVector()
        var transferred = false
        if from.needsStateTransfer(for: theirs) {
            let floor = from.floorVector()
            var position: RecordSnapshot.Position?
            while true {
                let (records, next) = try await from.recordSnapshots(after: position, limit: batch)
                _ = try await to.apply(snapshot: records)
                guard let next else { break }
                position = next
            }
            try await to.adoptFloor(floor)
            theirs.merge(floor)
            transferred = true
        }
        _ = try await to.apply(remote: from.changes(notIn: theirs, limit: .max))
        return transferred
    }

    @Test("a record edited 50 times keeps one change in the log, which stands for all 50")
    func oneChangePerRecord() async throws {
        let n1 = try node("n1")
        try await create(n1, 1)
        try await create(n1, 2)
        for edit in 0..<49 {
            clock.advance(1)
            _ = try await n1.update(.quotes, id: id(1), owner: nil, fields: ["content": .string("v\(edit)")])
        }
        #expect(try await logSeqs(n1) == [2, 51])
        let change = try #require(try await n1.localChanges(51...51).first)
        #expect(change.covers == [1] + Array(3...50))
        // A peer that gets only that change holds every number it stands for.
        let n2 = try node("n2")
        _ = try await n2.apply(remote: n1.changes(notIn: VersionVector(), limit: .max))
        #expect(n2.versionVector() == n1.versionVector())
        #expect(try await n2.digest() == n1.digest())
        #expect(try await logSeqs(n2) == [2, 51])
    }

    @Test("a record's logged changes: stored and read back, the newest per origin and lineage, none at or below the floor")
    func loggedChangesEntries() {
        let floor = VersionVector(entries: ["n2": VersionVector.Entry(contiguous: 10)])
        let logged = LoggedChanges()
            .noting(origin: "n1~a", owner: "alice", seq: 7, floor: floor)
            .noting(origin: "n1~a", owner: "bob", seq: 3, floor: floor)
            .noting(origin: "n1~a", owner: "alice", seq: 5, floor: floor)
            .noting(origin: "n2", owner: "alice", seq: 12, floor: floor)
        #expect(logged.seq(origin: "n1~a", owner: "alice") == 7)
        #expect(logged.seqs(origin: "n1~a").sorted() == [3, 7])
        #expect(LoggedChanges(stored: logged.stored) == logged)
        #expect(LoggedChanges(stored: [0xff, 0xff]) == LoggedChanges())
        let raised = VersionVector(entries: ["n2": VersionVector.Entry(contiguous: 12)])
        let pruned = logged.noting(origin: "n1~a", owner: "alice", seq: 8, floor: raised)
        #expect(pruned.seq(origin: "n2", owner: "alice") == nil)
        #expect(pruned.seq(origin: "n1~a", owner: "alice") == 8)
    }

    @Test("a database from before records named their logged changes is upgraded: the next edit supersedes the change logged before")
    func upgradeNamesLoggedChanges() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("stoa-logged-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("stoa.sqlite").path
        do {
            let db = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
            try await create(db, 1)
            try await create(db, 2)
            clock.advance(1)
            _ = try await db.update(.quotes, id: id(1), owner: nil, fields: ["content": .string("v1")])
            // Back to the shape before `v6-logged-changes`: the log indexed by record.
            try await db.writer.write { sql in
                try sql.execute(sql: """
                    ALTER TABLE record_state DROP COLUMN logged; CREATE INDEX changes_record ON changes (collection, record_id, origin);
                    DELETE FROM grdb_migrations WHERE identifier = 'v6-logged-changes'
                    """)
            }
            try db.markCleanShutdown()
        }
        let reopened = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
        #expect(try await logSeqs(reopened) == [2, 3])
        clock.advance(1)
        _ = try await reopened.update(.quotes, id: id(1), owner: nil, fields: ["content": .string("v2")])
        _ = try await reopened.update(.quotes, id: id(2), owner: nil, fields: ["content": .string("v2")])
        #expect(try await logSeqs(reopened) == [4, 5])
        let change = try #require(try await reopened.localChanges(4...4).first)
        #expect(change.covers == [1, 3])
        let index = try await reopened.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM sqlite_master WHERE name = 'changes_record'") }
        #expect(index == 0)
    }

    @Test("an older change arriving after the newer one that covers it is skipped; before it, it leaves the log")
    func coveredChanges() async throws {
        let n1 = try node("n1")
        try await create(n1, 1)
        let first = try #require(try await n1.localChanges(1...1).first)
        clock.advance(1)
        _ = try await n1.update(.quotes, id: id(1), owner: nil, fields: ["notes": .string("n")])
        let second = try #require(try await n1.localChanges(2...2).first)
        #expect(second.covers == [1])

        let inOrder = try node("n2")
        _ = try await inOrder.apply(remote: [first])
        _ = try await inOrder.apply(remote: [second])
        #expect(try await logSeqs(inOrder) == [2])

        let reversed = try node("n3")
        let result = try await reversed.apply(remote: [second, first])
        #expect(result.duplicates == 1)
        #expect(try await logSeqs(reversed) == [2])
        #expect(try await reversed.digest() == n1.digest())
    }

    @Test("compaction in chunks of a few changes, with superseded numbers in the log's gaps, ends where one transaction would; the file gives its pages back")
    func compactionInChunks() async throws {
        let folder = try makeTemporaryFolder("stoa-history")
        defer { try? FileManager.default.removeItem(at: folder) }
        let n1 = try StoaDatabase(path: folder.appendingPathComponent("db.sqlite").path, nodeName: "n1", physicalMillis: clock.now)
        for n in 1...40 { try await create(n1, n, content: String(repeating: "x", count: 2_000)) }
        for n in stride(from: 1, through: 40, by: 3) {
            clock.advance(1)
            _ = try await n1.update(.quotes, id: id(n), owner: nil, fields: ["content": .string("edited")])
        }
        let logged = try await logSeqs(n1)
        let stable = VersionVector(entries: [n1.origin: .init(contiguous: 45)])
        let expected = logged.filter { $0 <= 45 }.count
        #expect(try await n1.compact(upTo: stable, chunk: 4) == expected)
        #expect(try await logSeqs(n1) == logged.filter { $0 > 45 })
        #expect(n1.floorVector() == stable)
        let free = try await n1.writer.read { try Int.fetchOne($0, sql: "PRAGMA freelist_count") }
        #expect(free == 0)
    }

    @Test("compaction removes what every member holds; the floor, the vector, the clock and the numbering survive a restart")
    func compactionSurvivesRestart() async throws {
        let folder = try makeTemporaryFolder("stoa-history")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("db.sqlite").path
        var db: StoaDatabase? = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
        let n1 = try #require(db)
        for n in 1...20 { try await create(n1, n) }
        let origin = n1.origin
        let stable = VersionVector(entries: [origin: .init(contiguous: 15)])
        #expect(try await n1.compact(upTo: stable) == 15)
        #expect(try await logSeqs(n1) == Array(16...20))
        #expect(n1.floorVector() == stable)
        #expect(n1.needsStateTransfer(for: VersionVector(entries: [origin: .init(contiguous: 14)])))
        #expect(!n1.needsStateTransfer(for: VersionVector(entries: [origin: .init(contiguous: 15)])))
        // Everything compacted: the next write still gets the next number.
        #expect(try await n1.compact(upTo: VersionVector(entries: [origin: .init(contiguous: 99)])) == 5, "clipped to what the node holds")
        #expect(try await logSeqs(n1).isEmpty)
        let vector = n1.versionVector()
        let newest = n1.clock.withLock { $0.last }
        try n1.markCleanShutdown()
        db = nil

        clock.millis.withLock { $0 -= 60_000 }   // the wall clock went back meanwhile
        let reopened = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
        #expect(reopened.origin == origin && reopened.versionVector() == vector && reopened.floorVector() == vector)
        #expect(reopened.clock.withLock { $0.last } >= newest, "the clock does not go back with the compacted changes")
        try await create(reopened, 21)
        #expect(try await logSeqs(reopened) == [21])
        let pages = try await reopened.writer.read { try Int.fetchOne($0, sql: "PRAGMA auto_vacuum") }
        #expect(pages == 2, "incremental auto-vacuum: compacted pages go back to the file system")
    }

    @Test("an empty replica and one behind the floor are caught up by state transfer, in batches, and end equal")
    func stateTransfer() async throws {
        let n1 = try node("n1")
        let n2 = try node("n2")
        for n in 1...40 { try await create(n1, n) }
        _ = try await n1.delete(.quotes, id: id(3), owner: nil)
        _ = try await n2.apply(remote: n1.changes(notIn: VersionVector(), limit: 10))   // n2 got a little
        // Every member but a newcomer holds the first 30: compact them.
        _ = try await n1.compact(upTo: VersionVector(entries: [n1.origin: .init(contiguous: 30)]))
        for n in 41...45 { try await create(n1, n) }

        let fresh = try node("n3")
        #expect(try await catchUp(fresh, from: n1))
        #expect(try await catchUp(n2, from: n1))
        for replica in [fresh, n2] {
            #expect(replica.versionVector() == n1.versionVector())
            #expect(try await replica.digest() == n1.digest())
            #expect(try await replica.record(.quotes, id: id(3), owner: nil) == nil, "the delete came with the state")
            #expect(try await replica.record(.quotes, id: id(45), owner: nil) != nil, "and the log above the floor")
        }
        // Caught up, it needs no transfer any more, and its own floor covers what it never got as changes.
        #expect(!n1.needsStateTransfer(for: fresh.versionVector()))
        #expect(fresh.floorVector().entries[n1.origin]?.contiguous == 30)
    }

    @Test("a device whose cursor is below the floor gets every record of its user, deleted ones by id")
    func syncBelowTheFloor() async throws {
        let n1 = try node("n1")
        for n in 1...5 { try await create(n1, n) }
        _ = try await n1.create(.quotes, id: id(9), fields: ["content": .string("bob's"), "userId": .string("bob000000000001")])
        let early = try await n1.syncPage(owner: owner, since: SyncPosition())
        #expect(early.records.count == 5)
        _ = try await n1.delete(.quotes, id: id(2), owner: nil)
        clock.advance(1)
        _ = try await n1.update(.quotes, id: id(4), owner: nil, fields: ["notes": .string("x")])
        _ = try await n1.compact(upTo: n1.versionVector())

        var page = try await n1.syncPage(owner: owner, since: early.cursor, limit: 2)
        var live: [String] = []
        var deleted: [String] = []
        while true {
            live += page.records.map(\.id)
            deleted += page.deleted
            guard page.hasMore else { break }
            page = try await n1.syncPage(owner: owner, since: page.cursor, limit: 2)
        }
        #expect(live == [id(1), id(3), id(4), id(5)] && deleted == [id(2)])
        // The last cursor covers the floor: the next sync reads the log again and finds nothing new.
        let next = try await n1.syncPage(owner: owner, since: page.cursor)
        #expect(next.records.isEmpty && next.deleted.isEmpty)
    }

    @Test("a backup taken while writes continue restores into a node with a new origin and equal data")
    func backup() async throws {
        let folder = try makeTemporaryFolder("stoa-backup")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("db.sqlite").path
        let n1 = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
        for n in 1...50 { try await create(n1, n) }
        let copy = folder.appendingPathComponent("backup.sqlite").path
        async let more: Void = { for n in 51...80 { try await self.create(n1, n) } }()
        let report = try StoaDatabase.backup(databaseAt: path, to: copy)
        try await more
        #expect(report.bytes > 0 && report.pages > 0)
        #expect(throws: StoreError.backupDestinationExists(copy)) { try StoaDatabase.backup(databaseAt: path, to: copy) }

        let restored = try StoaDatabase(path: copy, nodeName: "n1", physicalMillis: clock.now)
        #expect(restored.origin != n1.origin && restored.origin.hasPrefix("n1~"), "a new epoch: never reuses a number peers hold")
        let held = restored.versionVector().entries[n1.origin]?.contiguous ?? 0
        #expect(held >= 50 && held <= 80)
        _ = try await restored.apply(remote: n1.changes(notIn: restored.versionVector(), limit: .max))
        #expect(try await restored.digest() == n1.digest())
    }
}
