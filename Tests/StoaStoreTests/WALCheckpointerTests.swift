import Foundation
import GRDB
import StoaCore
import Testing
@testable import StoaStore

@Suite("Background WAL checkpoints")
struct WALCheckpointerTests {
    let clock = TestClock()

    @Test("with background checkpoints the checkpointer copies the log; the writer's own checkpoint keeps it near 1000 pages")
    func copiesTheLog() async throws {
        let folder = try makeTemporaryFolder("stoa-ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("db.sqlite").path
        let database = try StoaDatabase(path: path, nodeName: "n1", backgroundCheckpoints: true, physicalMillis: clock.now)
        let checkpointer = try #require(database.checkpointer)
        let threshold = try await database.writer.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") }
        #expect(threshold == WALCheckpointer.writerBackstopPages)

        for index in 0..<60 {
            _ = try await database.create(.quotes, id: "rec" + String(format: "%012d", index), fields: ["content": .string("q\(index)"), "userId": .string("user00000000001")])
        }
        let first = try await checkpointer.checkpoint()
        #expect(first.walFrames > 60, "the log holds the writes until a checkpoint")
        #expect(first.copied == first.walFrames)
        // Nothing new: nothing more to copy.
        let again = try await checkpointer.checkpoint()
        #expect(again.copied == again.walFrames)

        // run() checkpoints until cancelled, and stops promptly.
        let running = Task { try await checkpointer.run() }
        try await Task.sleep(for: .milliseconds(250))
        running.cancel()
        try await running.value

        // Many more writes, the checkpointer running: the log starts over from its beginning
        // again and again, so the file stays near 1000 pages (4 KiB each), far below what the
        // writes put through it.
        let walPath = path + "-wal"
        let size = { ((try? FileManager.default.attributesOfItem(atPath: walPath)[.size]) as? Int) ?? 0 }
        let background = Task { try await checkpointer.run() }
        var largest = 0
        for index in 60..<3000 {
            _ = try await database.create(.quotes, id: "rec" + String(format: "%012d", index), fields: ["content": .string("q\(index)"), "userId": .string("user00000000001")])
            if index % 50 == 0 { largest = max(largest, size()) }
        }
        background.cancel()
        try await background.value
        #expect(largest > 0)
        #expect(largest <= 3 * WALCheckpointer.writerBackstopPages * 4096, "WAL peaked at \(largest) bytes")

        // Another connection (as after a restart) reads everything.
        let reopened = try StoaDatabase(path: path, nodeName: "n1", physicalMillis: clock.now)
        let page = try await reopened.list(.quotes, query: ListQuery(owner: "user00000000001", page: 1, perPage: 1))
        #expect(page.totalItems == 3000)
        #expect(reopened.checkpointer == nil)
    }
}
