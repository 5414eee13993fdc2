import Foundation
import GRDB
import StoaCore
import Testing
@testable import StoaStore

@Suite("Background WAL checkpoints")
struct WALCheckpointerTests {
    let clock = TestClock()

    @Test("with background checkpoints the writer leaves the log to the checkpointer, which copies all of it")
    func copiesTheLog() async throws {
        let folder = try makeTemporaryFolder("stoa-ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("db.sqlite").path
        let database = try StoaDatabase(path: path, nodeName: "n1", backgroundCheckpoints: true, physicalMillis: clock.now)
        let checkpointer = try #require(database.checkpointer)
        let threshold = try await database.writer.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") }
        #expect(threshold == WALCheckpointer.writerBackstopPages)

        for index in 0..<300 {
            _ = try await database.create(.quotes, id: "rec" + String(format: "%012d", index), fields: ["content": .string("q\(index)"), "userId": .string("user00000000001")])
        }
        let first = try await checkpointer.checkpoint()
        #expect(first.walFrames > 300, "the writer did not checkpoint on its own (it would have past 1000 pages)")
        #expect(first.copied == first.walFrames)
        // Nothing new: nothing more to copy.
        let again = try await checkpointer.checkpoint()
        #expect(again.copied == again.walFrames)

        // run() checkpoints until cancelled, and stops promptly.
        let running = Task { try await checkpointer.run() }
        try await Task.sleep(for: .milliseconds(250))
        running.cancel()
        try await running.value

        // Another connection (as after a restart) reads everything.
        let reopened = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
        let page = try await reopened.list(.quotes, query: ListQuery(owner: "user00000000001", page: 1, perPage: 1))
        #expect(page.totalItems == 300)
        #expect(reopened.checkpointer == nil)
    }
}
