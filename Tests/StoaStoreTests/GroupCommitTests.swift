import Dispatch
import Foundation
import GRDB
import StoaCore
import Synchronization
import Testing
@testable import StoaStore

/// Group commit (``WriteBatcher``): writes queued while the writer is busy share one transaction,
/// each in its own savepoint, and none is lost or half-applied.
@Suite("Group commit of local writes")
struct GroupCommitTests {
    let clock = TestClock()
    let owner = "user00000000001"

    struct Boom: Error, Equatable {}

    /// What the concurrent writes of a test report.
    final class Outcomes: Sendable {
        let results = Mutex<[Int: Result<String, any Error>]>([:])
        let hookRan = Mutex(false)
    }

    func onDisk() throws -> (StoaDatabase, URL) {
        let folder = try makeTemporaryFolder("stoa-gc")
        return (try StoaDatabase(path: folder.appendingPathComponent("db.sqlite").path, nodeName: "n1", physicalMillis: clock.now), folder)
    }

    /// Occupies the writer until the returned gate is signalled, so writes queue behind it.
    func hold(_ db: StoaDatabase) -> DispatchSemaphore {
        let gate = DispatchSemaphore(value: 0)
        db.writer.asyncWriteWithoutTransaction { _ in gate.wait() }
        return gate
    }

    /// Waits (bounded) until `count` writes are queued.
    func waitUntilQueued(_ db: StoaDatabase, _ count: Int) async throws {
        for _ in 0..<5000 where db.batcher.queued < count { try await Task.sleep(for: .milliseconds(1)) }
        #expect(db.batcher.queued == count)
    }

    func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    func id(_ index: Int) -> String { "rec" + String(format: "%012d", index) }

    @Test("concurrent creates share transactions; every one is stored, logged once with consecutive sequence numbers, and published")
    func concurrentCreates() async throws {
        let (db, folder) = try onDisk()
        defer { try? FileManager.default.removeItem(at: folder) }
        let events = Mutex(0)
        db.onRecordEvents { batch in events.withLock { $0 += batch.count } }
        let count = 300
        try await withThrowingTaskGroup(of: StoredRecord.self) { group in
            for index in 0..<count {
                group.addTask { try await db.create(.quotes, id: self.id(index), fields: ["content": .string("q\(index)"), "userId": .string(self.owner)]) }
            }
            var ids: Set<String> = []
            for try await record in group { ids.insert(record.id) }
            #expect(ids.count == count)
        }
        let committed = db.batcher.committed.withLock { $0 }
        #expect(committed.writes == count)
        let seqs = try await db.writer.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM changes ORDER BY seq") }
        #expect(seqs == (1...Int64(count)).map { $0 })
        #expect(db.versionVector().entries[db.origin]?.contiguous == UInt64(count))
        #expect(events.withLock { $0 } == count)
        let page = try await db.list(.quotes, query: ListQuery(owner: owner, page: 1, perPage: 1))
        #expect(page.totalItems == count)
    }

    @Test("in one batch, failing writes are undone alone and get their own error; the others commit")
    func failuresInABatch() async throws {
        let (db, folder) = try onDisk()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try await db.create(.quotes, id: id(0), fields: ["content": .string("first"), "userId": .string(owner)])
        let events = Mutex<[String]>([])
        db.onRecordEvents { batch in events.withLock { $0 += batch.map(\.record.id) } }
        let before = db.versionVector()

        // 1: a create of an id taken (fails before writing); 2: a write that fails after writing
        // and registering a commit hook; the rest succeed.
        let outcomes = Outcomes()
        let gate = hold(db)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let result = await self.outcome { try await db.create(.quotes, id: self.id(0), fields: ["content": .string("again"), "userId": .string(self.owner)]).id }
                outcomes.results.withLock { $0[1] = result }
            }
            group.addTask {
                let result = await self.outcome {
                    try await db.batcher.write { sql -> String in
                        try sql.execute(sql: "INSERT INTO node_meta (key, value) VALUES ('half', 'written')")
                        db.hooks.add(sql) { outcomes.hookRan.withLock { $0 = true } }
                        throw Boom()
                    }
                }
                outcomes.results.withLock { $0[2] = result }
            }
            for index in 3...6 {
                group.addTask {
                    let result = await self.outcome { try await db.create(.quotes, id: self.id(index), fields: ["content": .string("q"), "userId": .string(self.owner)]).id }
                    outcomes.results.withLock { $0[index] = result }
                }
            }
            try await waitUntilQueued(db, 6)
            gate.signal()
            try await group.waitForAll()
        }
        let results = outcomes.results.withLock { $0 }
        #expect(throws: StoreError.idTaken) { try results[1]!.get() }
        #expect(throws: Boom()) { try results[2]!.get() }
        for index in 3...6 { #expect(try results[index]!.get() == id(index)) }
        #expect(db.batcher.committed.withLock { $0 } == (batches: 2, writes: 7), "the six queued writes formed one batch")

        let half = try await db.writer.read { db in try String.fetchOne(db, sql: "SELECT value FROM node_meta WHERE key = 'half'") }
        #expect(half == nil, "the failed write's rows were rolled back to its savepoint")
        #expect(!outcomes.hookRan.withLock { $0 }, "its commit hook was withdrawn")
        #expect(try await db.record(.quotes, id: id(0), owner: nil)?.text("content") == "first")
        #expect(Set(events.withLock { $0 }) == Set((3...6).map(id)))
        var expected = before
        for seq in 2...5 { expected.insert(origin: db.origin, seq: UInt64(seq)) }
        #expect(db.versionVector() == expected)
        let logged = try await db.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM changes") }
        #expect(logged == 5)
    }

    @Test("a lone write that fails after writing leaves nothing behind")
    func loneFailure() async throws {
        let db = try StoaDatabase.inMemory(nodeName: "n1", physicalMillis: clock.now)
        let hookRan = Mutex(false)
        await #expect(throws: Boom()) {
            try await db.batcher.write { sql in
                try sql.execute(sql: "INSERT INTO node_meta (key, value) VALUES ('half', 'written')")
                db.hooks.add(sql) { hookRan.withLock { $0 = true } }
                throw Boom()
            }
        }
        let half = try await db.writer.read { db in try String.fetchOne(db, sql: "SELECT value FROM node_meta WHERE key = 'half'") }
        #expect(half == nil)
        #expect(!hookRan.withLock { $0 })
        // The next write commits and publishes normally.
        _ = try await db.create(.quotes, id: id(1), fields: ["content": .string("q"), "userId": .string(owner)])
        #expect(db.versionVector().entries[db.origin]?.contiguous == 1)
    }
}
