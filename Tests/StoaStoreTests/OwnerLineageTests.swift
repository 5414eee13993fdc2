import Foundation
import StoaCore
import Testing
@testable import StoaStore

/// Issue 16: a quote's owner is fixed by the create that established it (the earliest); a
/// concurrent create of the same id by another user neither changes the owner nor writes into
/// the record, is counted, and every replica merges the same way.
@Suite("Owners fixed at creation")
struct OwnerLineageTests {
    let clock = TestClock()
    let alice = "alice0000000001"
    let mallory = "mallory00000001"
    let id = "sharedid0000001"

    func node(_ name: String) throws -> StoaDatabase {
        try StoaDatabase.inMemory(nodeName: name, physicalMillis: clock.now)
    }

    func exchange(_ a: StoaDatabase, _ b: StoaDatabase) async throws -> (RemoteApplyResult, RemoteApplyResult) {
        let toB = try await b.apply(remote: a.changes(notIn: b.versionVector(), limit: .max))
        let toA = try await a.apply(remote: b.changes(notIn: a.versionVector(), limit: .max))
        return (toB, toA)
    }

    @Test("a later create of the same id by another user, and its edits, stay hidden on every replica, in either order")
    func laterRivalHidden() async throws {
        let n1 = try node("n1")
        let n2 = try node("n2")
        let n3 = try node("n3")
        _ = try await n1.create(.quotes, id: id, fields: ["content": .string("alice's"), "userId": .string(alice)])
        clock.advance(10)
        _ = try await n2.create(.quotes, id: id, fields: ["content": .string("mallory's"), "notes": .string("injected"), "userId": .string(mallory)])
        clock.advance(10)
        _ = try await n2.update(.quotes, id: id, owner: mallory, fields: ["author": .string("Mallory")])
        // n3 hears n2 first, then n1: the earlier create takes over there too.
        _ = try await n3.apply(remote: n2.changes(notIn: VersionVector(), limit: .max))
        #expect(try await n3.record(.quotes, id: id, owner: nil)?.text("userId") == mallory, "before the earlier create arrives")
        let later = try await n3.apply(remote: n1.changes(notIn: n3.versionVector(), limit: .max))
        #expect(later.hidden == 1, "the visible lineage changed")
        let (toN2, _) = try await exchange(n1, n2)
        #expect(toN2.hidden >= 1)
        for replica in [n1, n2, n3] {
            let record = try #require(try await replica.record(.quotes, id: id, owner: nil))
            #expect(record.text("userId") == alice && record.text("content") == "alice's")
            #expect(record.text("notes") == "" && record.text("author") == "", "nothing of the rival's lineage shows")
            #expect(try await replica.record(.quotes, id: id, owner: mallory) == nil)
            #expect(try await replica.rivalCount() == 1)
        }
        _ = try await exchange(n1, n3)
        _ = try await exchange(n2, n3)
        #expect(Set([try await n1.digest(), try await n2.digest(), try await n3.digest()]).count == 1)
        // The owner's edits keep working everywhere; the rival cannot reach the record.
        _ = try await n2.update(.quotes, id: id, owner: alice, fields: ["notes": .string("mine")])
        await #expect(throws: StoreError.notFound) { try await n2.update(.quotes, id: self.id, owner: self.mallory, fields: ["notes": .string("again")]) }
        _ = try await exchange(n1, n2)
        #expect(try await n1.record(.quotes, id: id, owner: nil)?.text("notes") == "mine")
    }

    @Test("a local write to a record whose create has not arrived stays in the lineage it is filed under")
    func writeBeforeCreate() async throws {
        // history-compaction seed 43: n2 held only a delete of alice's quote (filed under alice,
        // its state naming no owner yet) and restored it; taking the owner from the state filed
        // the restore, and the lineage, under "" on n2 alone, and the digests never met.
        let n1 = try node("n1")
        let n2 = try node("n2")
        let n3 = try node("n3")
        _ = try await n1.create(.quotes, id: id, fields: ["content": .string("alice's"), "userId": .string(alice)])
        _ = try await n3.apply(remote: n1.changes(notIn: VersionVector(), limit: .max))
        clock.advance(10)
        try await n3.delete(.quotes, id: id, owner: nil)
        let delete = try await n3.changes(notIn: n1.versionVector(), limit: .max)
        #expect(delete.count == 1 && delete.first?.owner == alice && delete.first?.delta.establishedAt == nil)
        _ = try await n2.apply(remote: delete)
        clock.advance(10)
        _ = try await n2.restore(.quotes, id: id, owner: nil)
        let restore = try await n2.changes(notIn: n1.versionVector(), limit: .max).filter { $0.origin == "n2" }
        #expect(restore.map(\.owner) == [alice], "the restore is alice's lineage's")
        _ = try await exchange(n1, n2)
        _ = try await exchange(n2, n3)
        _ = try await exchange(n1, n3)
        #expect(Set([try await n1.digest(), try await n2.digest(), try await n3.digest()]).count == 1)
        for replica in [n1, n2, n3] {
            #expect(try await replica.rivalCount() == 0)
            #expect(try await replica.record(.quotes, id: id, owner: alice)?.text("content") == "alice's")
        }
    }

    @Test("a device sync by the losing user reports the record as deleted, not someone else's data")
    func rivalDeviceSync() async throws {
        let n1 = try node("n1")
        let n2 = try node("n2")
        _ = try await n1.create(.quotes, id: id, fields: ["content": .string("alice's"), "userId": .string(alice)])
        clock.advance(10)
        _ = try await n2.create(.quotes, id: id, fields: ["content": .string("mallory's"), "userId": .string(mallory)])
        _ = try await exchange(n1, n2)
        for replica in [n1, n2] {
            let page = try await replica.syncPage(owner: mallory, since: SyncPosition())
            #expect(page.records.isEmpty && page.deleted == [id])
            _ = try await replica.compact(upTo: replica.versionVector())
            let full = try await replica.syncPage(owner: mallory, since: SyncPosition())
            #expect(full.records.isEmpty && full.deleted == [id], "also once the log is compacted")
            #expect(try await replica.syncPage(owner: alice, since: SyncPosition()).records.map(\.id) == [id])
        }
    }

    @Test("a state transfer carries hidden lineages, so the receiver's digest equals the sender's")
    func transferCarriesRivals() async throws {
        let n1 = try node("n1")
        let n2 = try node("n2")
        _ = try await n1.create(.quotes, id: id, fields: ["content": .string("alice's"), "userId": .string(alice)])
        clock.advance(10)
        _ = try await n2.create(.quotes, id: id, fields: ["content": .string("mallory's"), "userId": .string(mallory)])
        _ = try await exchange(n1, n2)
        let fresh = try node("n3")
        let (records, next) = try await n1.recordSnapshots(after: nil, limit: 10)
        #expect(next == nil && records.count == 2 && Set(records.map(\.owner)) == [alice, mallory])
        _ = try await fresh.apply(snapshot: records)
        #expect(try await fresh.digest() == n1.digest())
        #expect(try await fresh.record(.quotes, id: id, owner: nil)?.text("content") == "alice's")
    }
}
