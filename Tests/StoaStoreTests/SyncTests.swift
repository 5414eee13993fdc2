import Foundation
import GRDB
import StoaCore
import Testing
@testable import StoaStore

@Suite("Device sync: change feed, cursors and offline batches")
struct SyncTests {
    let clock = TestClock()
    let alice = "alice0000000001"
    let bob = "bob000000000001"

    func node(_ name: String) throws -> StoaDatabase {
        try StoaDatabase.inMemory(nodeName: name, physicalMillis: clock.now)
    }

    /// Sends each side what the other lacks, both ways (a healed network).
    func replicate(_ a: StoaDatabase, _ b: StoaDatabase) async throws {
        _ = try await b.apply(remote: a.changes(notIn: b.versionVector(), limit: 100_000))
        _ = try await a.apply(remote: b.changes(notIn: a.versionVector(), limit: 100_000))
    }

    func id(_ n: Int) -> String { String(format: "rec%012d", n) }

    func create(_ node: StoaDatabase, _ n: Int, owner: String, content: String = "q") async throws {
        _ = try await node.create(.quotes, id: id(n), fields: ["content": .string(content), "userId": .string(owner)])
    }

    @Test("paging returns each changed record of the user once, as it is now, deleted ones by id, and nothing of others")
    func paging() async throws {
        let n1 = try node("n1")
        for n in 1...30 { try await create(n1, n, owner: alice) }
        for n in 31...40 { try await create(n1, n, owner: bob) }
        for n in 26...30 { try await n1.delete(.quotes, id: id(n), owner: alice) }
        for n in 1...5 { _ = try await n1.update(.quotes, id: id(n), owner: alice, fields: ["notes": .string("edited")]) }
        let target = n1.versionVector()

        var cursor = SyncPosition()
        var live: [StoredRecord] = []
        var deleted: [String] = []
        var pages = 0
        while true {
            let page = try await n1.syncPage(owner: alice, since: cursor, limit: 7)
            #expect(page.records.count + page.deleted.count == (page.hasMore ? 7 : 30 % 7))
            live += page.records
            deleted += page.deleted
            cursor = page.cursor
            pages += 1
            // A write between pages comes with its record's page or with the next sync.
            if pages == 2 { _ = try await n1.update(.quotes, id: id(1), owner: alice, fields: ["source": .string("late")]) }
            if !page.hasMore { break }
        }
        #expect(pages == 5)
        #expect(live.map(\.id) == (1...25).map(id), "every live record of alice once, in id order")
        #expect(deleted == (26...30).map(id))
        #expect(live[1].text("notes") == "edited" && live[6].text("notes") == "")
        #expect(cursor == SyncPosition(since: target), "the last page covers what the node had when the sync began")

        // The late write and one more edit and delete: exactly those records next time.
        _ = try await n1.update(.quotes, id: id(7), owner: alice, fields: ["notes": .string("again")])
        try await n1.delete(.quotes, id: id(8), owner: alice)
        let next = try await n1.syncPage(owner: alice, since: cursor)
        #expect(next.records.map(\.id) == [id(1), id(7)] && next.records[0].text("source") == "late")
        #expect(next.deleted == [id(8)] && !next.hasMore)
        let quiet = try await n1.syncPage(owner: alice, since: next.cursor)
        #expect(quiet.records.isEmpty && quiet.deleted.isEmpty && quiet.cursor == next.cursor)
        // Bob's feed never shows alice's records.
        let bobs = try await n1.syncPage(owner: bob, since: SyncPosition(), limit: 1000)
        #expect(bobs.records.map(\.id) == (31...40).map(id))
    }

    @Test("a sync paged on one node and finished on a node that lacks part of it restarts there and misses nothing")
    func switchMidSync() async throws {
        let n1 = try node("n1"), n2 = try node("n2")
        for n in 1...20 { try await create(n1, n, owner: alice) }
        try await replicate(n1, n2)
        for n in 21...24 { try await create(n1, n, owner: alice) }   // n2 has not seen these
        let first = try await n1.syncPage(owner: alice, since: SyncPosition(), limit: 5)
        #expect(first.hasMore && first.cursor.target == n1.versionVector())
        var seen = Set(first.records.map(\.id))
        var cursor = first.cursor
        while true {
            let page = try await n2.syncPage(owner: alice, since: cursor, limit: 5)
            seen.formUnion(page.records.map(\.id))
            cursor = page.cursor
            if !page.hasMore { break }
        }
        #expect(seen == Set((1...20).map(id)))
        try await replicate(n1, n2)
        let rest = try await n2.syncPage(owner: alice, since: cursor, limit: 100)
        #expect(Set(rest.records.map(\.id)) == Set((21...24).map(id)), "what n2 lacked is still owed and comes once it has it")
    }

    @Test("a cursor from one node works on another, before and after they exchange changes")
    func cursorAcrossNodes() async throws {
        let n1 = try node("n1"), n2 = try node("n2")
        for n in 1...10 { try await create(n1, n, owner: alice) }
        try await replicate(n1, n2)
        let device = SimulatedDevice("phone", owner: alice, startMillis: clock.now())
        try await device.sync(with: n1)
        #expect(device.records.count == 10)

        // n2 takes writes n1 has not seen; n1 takes writes n2 has not seen.
        for n in 11...13 { try await create(n2, n, owner: alice) }
        _ = try await n1.update(.quotes, id: id(1), owner: alice, fields: ["content": .string("on n1")])
        try await device.sync(with: n2)
        #expect(device.records.count == 13, "n2's new records, nothing repeated from n1's cursor")
        #expect(device.records[id(1)]?.text("content") == "q", "n2 has not seen n1's edit yet")
        try await replicate(n1, n2)
        let (_, pages) = try await device.sync(with: n2)
        #expect(pages == 1)
        #expect(device.records == (try await n2.quotes(of: alice)))
        #expect(device.records[id(1)]?.text("content") == "on n1")
    }

    @Test("two devices edit offline against different nodes, sync, and end equal")
    func twoDevicesConverge() async throws {
        let n1 = try node("n1"), n2 = try node("n2")
        for n in 1...4 { try await create(n1, n, owner: alice, content: "seed \(n)") }
        _ = try await n1.update(.quotes, id: id(2), owner: alice, fields: [:], tags: .assign(["stoic"]))
        try await replicate(n1, n2)
        let phone = SimulatedDevice("phone", owner: alice, startMillis: clock.now() + 1)
        let laptop = SimulatedDevice("laptop", owner: alice, startMillis: clock.now() + 2)
        try await phone.sync(with: n1)
        try await laptop.sync(with: n2)
        #expect(phone.records == laptop.records)

        // Offline on both: overlapping edits of the same records.
        phone.edit(id(1), .upsert(fields: ["content": .string("phone's words")], tags: nil))
        laptop.edit(id(1), .upsert(fields: ["notes": .string("laptop's note")], tags: nil))
        phone.edit(id(2), .upsert(fields: [:], tags: .modify(add: ["seneca"], remove: [])))
        laptop.edit(id(2), .upsert(fields: [:], tags: .modify(add: ["time"], remove: [])))
        phone.edit(id(3), .delete)
        laptop.edit(id(3), .upsert(fields: ["author": .string("Marcus")], tags: nil))
        phone.edit(id(50), .upsert(fields: ["content": .string("new on phone")], tags: .assign(["a"])))
        laptop.edit(id(51), .upsert(fields: ["content": .string("new on laptop")], tags: nil))
        laptop.edit(id(4), .delete)
        laptop.edit(id(4), .restore)
        clock.advance(1_000)

        let pushedPhone = try #require(try await phone.sync(with: n1).pushed)
        let pushedLaptop = try #require(try await laptop.sync(with: n2).pushed)
        #expect(pushedPhone.applied == 4 && pushedLaptop.applied == 6)
        try await replicate(n1, n2)
        try await phone.sync(with: n1)
        try await laptop.sync(with: n2)

        #expect(phone.records == laptop.records)
        #expect(phone.records == (try await n1.quotes(of: alice)))
        #expect(try await n1.digest() == n2.digest())
        let one = try #require(phone.records[id(1)])
        #expect(one.text("content") == "phone's words" && one.text("notes") == "laptop's note", "edits of different fields both kept")
        #expect(Set(phone.records[id(2)]?.tags ?? []) == ["stoic", "seneca", "time"], "concurrent tag additions both kept")
        #expect(phone.records[id(3)] == nil, "the delete wins over a concurrent edit")
        #expect(phone.records[id(4)] != nil, "deleted then restored on the laptop")
        #expect(phone.records[id(50)]?.tags == ["a"] && phone.records[id(51)] != nil)
        #expect(phone.records[id(50)]?.text("userId") == alice)
    }

    @Test("a device offline across a partition heal converges")
    func offlineAcrossPartition() async throws {
        let n1 = try node("n1"), n2 = try node("n2"), n3 = try node("n3")
        for n in 1...6 { try await create(n1, n, owner: alice) }
        try await replicate(n1, n2)
        try await replicate(n2, n3)
        let phone = SimulatedDevice("phone", owner: alice, startMillis: clock.now() + 1, pageSize: 3)
        try await phone.sync(with: n1)

        // Partition {n1} | {n2, n3}: each side takes writes; the phone is offline meanwhile.
        let web = SimulatedDevice("web", owner: alice, startMillis: clock.now() + 2)
        try await web.sync(with: n3)
        web.edit(id(1), .upsert(fields: ["content": .string("web edit")], tags: nil))
        web.edit(id(20), .upsert(fields: ["content": .string("web new")], tags: nil))
        try await web.sync(with: n3)
        try await replicate(n2, n3)
        _ = try await n1.update(.quotes, id: id(2), owner: alice, fields: ["notes": .string("n1 side")])
        phone.edit(id(5), .delete)
        phone.edit(id(30), .upsert(fields: ["content": .string("phone new")], tags: nil))
        clock.advance(5_000)

        // Heal, then the phone comes back through n2, with the cursor it got from n1.
        try await replicate(n1, n2)
        try await replicate(n2, n3)
        try await phone.sync(with: n2)
        try await replicate(n2, n3)
        try await replicate(n1, n2)
        try await web.sync(with: n3)

        let truth = try await n3.quotes(of: alice)
        #expect(phone.records == truth)
        #expect(web.records == truth)
        #expect(try await n1.digest() == n3.digest())
        #expect(truth[id(1)]?.text("content") == "web edit" && truth[id(2)]?.text("notes") == "n1 side")
        #expect(truth[id(5)] == nil && truth[id(20)] != nil && truth[id(30)] != nil)
    }

    @Test("a resent batch changes nothing, on the same node or on another")
    func resendIsIdempotent() async throws {
        let n1 = try node("n1"), n2 = try node("n2"), n3 = try node("n3")
        for n in 1...3 { try await create(n1, n, owner: alice) }
        try await replicate(n1, n2)
        try await replicate(n1, n3)
        let phone = SimulatedDevice("phone", owner: alice, startMillis: clock.now() + 1)
        phone.edit(id(1), .upsert(fields: ["content": .string("x")], tags: .modify(add: ["t1"], remove: [])))
        phone.edit(id(2), .delete)
        phone.edit(id(3), .upsert(fields: [:], tags: .assign(["only"])))
        phone.edit(id(9), .upsert(fields: ["content": .string("created offline")], tags: nil))
        phone.edit(id(9), .upsert(fields: ["notes": .string("then noted")], tags: nil))
        phone.edit(id(1), .delete)
        phone.edit(id(1), .restore)
        try await phone.sync(with: n1)
        #expect(try await n1.record(.quotes, id: id(1), owner: nil) != nil, "deleted, then restored")
        let batch = phone.lastBatch
        let digest = try await n1.digest()
        let vector = n1.versionVector()

        let again = try await n1.applyDeviceEdits(batch, owner: alice)
        #expect(again.applied == 0 && again.unchanged == batch.count)
        #expect(try await n1.digest() == digest && n1.versionVector() == vector, "no state change, no new change logged")

        // To a node that already has the batch by replication: nothing either.
        try await replicate(n1, n2)
        let n2Vector = n2.versionVector()
        #expect(try await n2.applyDeviceEdits(batch, owner: alice).applied == 0)
        #expect(n2.versionVector() == n2Vector)
        // To a node that has not seen it: applied there, and once the nodes exchange, the same
        // state as if it had been sent once.
        #expect(try await n3.applyDeviceEdits(batch, owner: alice).applied == batch.count)
        try await replicate(n1, n3)
        try await replicate(n2, n3)
        #expect(try await n3.digest() == digest)
        #expect(try await n2.digest() == digest)
    }

    @Test("offline deletes and restores are decided by time: one older than the last delete or restore merged is a no-op")
    func deleteRestoreByTime() async throws {
        let n1 = try node("n1")
        try await create(n1, 1, owner: alice)
        let t = clock.now()
        func edit(_ op: DeviceEdit.Operation, at offset: UInt64, device: String) -> DeviceEdit {
            DeviceEdit(id: id(1), stamp: DeviceEdit.stamp(device: device, millis: t + offset, counter: 0), operation: op)
        }
        // The laptop deleted at t+20; the phone's restore at t+10 arrives later and does not undo it.
        #expect(try await n1.applyDeviceEdits([edit(.delete, at: 20, device: "laptop")], owner: alice).applied == 1)
        #expect(try await n1.applyDeviceEdits([edit(.restore, at: 10, device: "phone")], owner: alice).applied == 0)
        #expect(try await n1.record(.quotes, id: id(1), owner: nil) == nil)
        // A restore made after the delete does.
        #expect(try await n1.applyDeviceEdits([edit(.restore, at: 30, device: "phone")], owner: alice).applied == 1)
        #expect(try await n1.record(.quotes, id: id(1), owner: nil) != nil)
    }

    @Test("a data folder from before the change feed gets every change filed under its owner on upgrade")
    func upgradeFilesOwners() async throws {
        let folder = try makeTemporaryFolder("stoa-upgrade")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("stoa.sqlite").path
        do {
            let db = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
            for n in 1...3 { try await create(db, n, owner: alice) }
            try await create(db, 4, owner: bob)
            try await db.delete(.quotes, id: id(2), owner: alice)
            // Turn it back into a v1 folder: states stored whole, no owner column, neither later
            // migration applied.
            try await db.writer.write { sql in
                for row in try Row.fetchAll(sql, sql: "SELECT collection, id FROM record_state") {
                    let state = try #require(try db.loadState(sql, collection: row[0], id: row[1]))
                    try sql.execute(sql: "UPDATE record_state SET state = ? WHERE collection = ? AND id = ?",
                                    arguments: [StoaDatabase.encodeState(state), row[0] as String, row[1] as String])
                }
                try sql.execute(sql: """
                    DROP INDEX record_state_deleted; ALTER TABLE record_state DROP COLUMN owner; ALTER TABLE record_state DROP COLUMN live;
                    DROP TABLE record_rivals; DROP TABLE log_floor;
                    ALTER TABLE record_state DROP COLUMN logged; DELETE FROM grdb_migrations WHERE identifier = 'v6-logged-changes';
                    ALTER TABLE changes DROP COLUMN covers; CREATE INDEX changes_hlc ON changes (hlc);
                    DELETE FROM grdb_migrations WHERE identifier = 'v3-bounded-history';
                    DROP INDEX changes_owner; ALTER TABLE changes DROP COLUMN owner; DELETE FROM grdb_migrations WHERE identifier = 'v2-change-owner'
                    """)
            }
            try db.markCleanShutdown()
        }
        let reopened = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
        let page = try await reopened.syncPage(owner: alice, since: SyncPosition())
        #expect(page.records.map(\.id) == [id(1), id(3)] && page.deleted == [id(2)])
        #expect(try await reopened.syncPage(owner: bob, since: SyncPosition()).records.map(\.id) == [id(4)])
    }

    @Test("a batch with one bad edit is refused whole")
    func batchIsAtomic() async throws {
        let n1 = try node("n1")
        try await create(n1, 1, owner: alice)
        try await create(n1, 2, owner: bob)
        let vector = n1.versionVector()
        let digest = try await n1.digest()
        let now = clock.now()
        func stamp(_ offset: UInt64) -> Stamp { DeviceEdit.stamp(device: "p", millis: now + offset, counter: 0) }
        let good = DeviceEdit(id: id(1), stamp: stamp(1), operation: .upsert(fields: ["content": .string("changed")], tags: nil))

        await #expect(throws: DeviceEditError(index: 1, reason: .notFound)) {
            try await n1.applyDeviceEdits([good, DeviceEdit(id: id(2), stamp: stamp(2), operation: .delete)], owner: alice)
        }
        await #expect(throws: DeviceEditError(index: 1, reason: .required("content"))) {
            try await n1.applyDeviceEdits([good, DeviceEdit(id: id(3), stamp: stamp(2), operation: .upsert(fields: ["notes": .string("n")], tags: nil))], owner: alice)
        }
        await #expect(throws: DeviceEditError(index: 1, reason: .notFound)) {
            try await n1.applyDeviceEdits([good, DeviceEdit(id: id(4), stamp: stamp(2), operation: .restore)], owner: alice)
        }
        await #expect(throws: DeviceEditError(index: 1, reason: .timeInFuture)) {
            try await n1.applyDeviceEdits([good, DeviceEdit(id: id(1), stamp: stamp(3_600_000), operation: .delete)], owner: alice)
        }
        #expect(n1.versionVector() == vector)
        #expect(try await n1.digest() == digest)
        #expect(try await n1.record(.quotes, id: id(1), owner: nil)?.text("content") == "q")
    }

    @Test("the cursor's text form round-trips and damaged cursors are refused")
    func cursorText() throws {
        var vector = VersionVector()
        for seq: UInt64 in [1, 2, 3, 7, 9] { vector.insert(origin: "n1~abc", seq: seq) }
        vector.insert(origin: "n2", seq: 1)
        for position in [SyncPosition(since: vector), SyncPosition(since: VersionVector(), target: vector, after: "abcdefghijklmno")] {
            let text = SyncCursor.encode(position)
            #expect(text.hasPrefix("v1.") && !text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(try SyncCursor.decode(text) == position)
        }
        let text = SyncCursor.encode(SyncPosition(since: vector))
        #expect(try SyncCursor.decode(nil) == SyncPosition() && SyncCursor.decode("") == SyncPosition())
        func forged(_ json: String) -> String { "v1." + Data(json.utf8).base64EncodedString() }
        let bads = [
            "garbage", "v1.", "v1.!!!!", "v2." + text.dropFirst(3), String(text.dropLast(4)), forged("[1,2]"),
            forged(#"{"s":{"entries":{"n1":{"c":3,"x":[4]}}}}"#), forged(#"{"s":{"entries":{}},"a":"abcdefghijklmno"}"#),
            forged(#"{"s":{"entries":{}},"t":{"entries":{}},"a":"NOT-AN-ID"}"#), "v1." + String(repeating: "A", count: 70_000),
        ]
        for bad in bads {
            #expect(throws: SyncCursor.Invalid.self, "\(bad.prefix(40))") { try SyncCursor.decode(bad) }
        }
    }

    @Test("a cursor with a counter of 2^64-1 (issue 18: it trapped the node) or any number past SQLite's integers is refused")
    func cursorOverflow() {
        // The exact cursor from the report: {"s":{"entries":{"zz":{"c":18446744073709551615,"x":[1]}}}}.
        let attack = "v1.eyJzIjp7ImVudHJpZXMiOnsienoiOnsiYyI6MTg0NDY3NDQwNzM3MDk1NTE2MTUsIngiOlsxXX19fX0"
        #expect(throws: SyncCursor.Invalid.self) { try SyncCursor.decode(attack) }
        func forged(_ json: String) -> String {
            "v1." + Data(json.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        }
        let max = UInt64(Int64.max)
        for json in [
            #"{"s":{"entries":{"zz":{"c":18446744073709551615,"x":[]}}}}"#,
            #"{"s":{"entries":{"zz":{"c":\#(max + 1),"x":[]}}}}"#,
            #"{"s":{"entries":{"zz":{"c":1,"x":[18446744073709551615]}}}}"#,
            #"{"s":{"entries":{}},"t":{"entries":{"zz":{"c":\#(max),"x":[\#(max + 2)]}}},"a":"abcdefghijklmno"}"#,
        ] {
            #expect(throws: SyncCursor.Invalid.self, "\(json)") { try SyncCursor.decode(forged(json)) }
        }
        // The largest valid numbers still decode and page without trapping.
        #expect((try? SyncCursor.decode(forged(#"{"s":{"entries":{"zz":{"c":\#(max - 2),"x":[\#(max)]}}}}"#))) != nil)
    }

    @Test("the largest valid cursor numbers page through syncPage without trapping")
    func cursorExtremesPage() async throws {
        let n1 = try node("n1")
        try await create(n1, 1, owner: alice)
        let max = VersionVector.maxSeq
        let since = VersionVector(entries: [n1.origin: .init(contiguous: max - 2, extra: [max]), "zz": .init(contiguous: max)])
        let page = try await n1.syncPage(owner: alice, since: SyncPosition(since: since))
        #expect(page.records.isEmpty && !page.hasMore)
    }

    @Test("a device clock 59 s ahead does not move the node's clock: its edit is stamped now, later writes win; within 1 s a device keeps its stamp")
    func deviceClockAhead() async throws {
        let n1 = try node("n1")
        try await create(n1, 1, owner: alice)
        try await create(n1, 2, owner: alice)
        let now = clock.now()
        let ahead = DeviceEdit(id: id(1), stamp: DeviceEdit.stamp(device: "phone", millis: now + 59_000, counter: 0), operation: .upsert(fields: ["notes": .string("phone")], tags: nil))
        let result = try await n1.applyDeviceEdits([ahead], owner: alice)
        #expect(result.applied == 1)
        let state = try #require(try await n1.writer.read { try n1.loadState($0, collection: "quotes", id: self.id(1)) })
        let notes = try #require(state.fields["notes"])
        #expect(notes.stamp.node == "~device:phone" && notes.stamp.hlc.millis <= now, "re-stamped with the node's clock")
        // Bob's write right after is stamped at the node's time, not a minute ahead.
        _ = try await n1.create(.quotes, id: id(3), fields: ["content": .string("b"), "userId": .string(bob)])
        let bobs = try #require(try await n1.writer.read { try n1.loadState($0, collection: "quotes", id: self.id(3)) })
        #expect(bobs.touched.hlc.millis <= now)
        // Alice's edit of the same field through the API a moment later wins.
        clock.advance(2_000)
        _ = try await n1.update(.quotes, id: id(1), owner: alice, fields: ["notes": .string("web")])
        #expect(try await n1.record(.quotes, id: id(1), owner: nil)?.text("notes") == "web")

        // Half a second ahead: the device's stamp is kept, and resending the edit is a no-op.
        let slightly = DeviceEdit(id: id(2), stamp: DeviceEdit.stamp(device: "phone", millis: clock.now() + 500, counter: 0), operation: .upsert(fields: ["notes": .string("p")], tags: nil))
        #expect(try await n1.applyDeviceEdits([slightly], owner: alice).applied == 1)
        #expect(try await n1.applyDeviceEdits([slightly], owner: alice).unchanged == 1)
        let kept = try #require(try await n1.writer.read { try n1.loadState($0, collection: "quotes", id: self.id(2)) })
        #expect(kept.fields["notes"]?.stamp == slightly.stamp)
    }

    @Test("edits re-stamped in one batch keep the order of the device's own stamps")
    func restampOrder() async throws {
        let n1 = try node("n1")
        try await create(n1, 1, owner: alice)
        let now = clock.now()
        let later = DeviceEdit(id: id(1), stamp: DeviceEdit.stamp(device: "phone", millis: now + 30_000, counter: 1), operation: .upsert(fields: ["notes": .string("second")], tags: nil))
        let earlier = DeviceEdit(id: id(1), stamp: DeviceEdit.stamp(device: "phone", millis: now + 30_000, counter: 0), operation: .upsert(fields: ["notes": .string("first")], tags: nil))
        _ = try await n1.applyDeviceEdits([later, earlier], owner: alice)
        #expect(try await n1.record(.quotes, id: id(1), owner: nil)?.text("notes") == "second")
    }
}
