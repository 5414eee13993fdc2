import Dispatch
import Foundation
import GRDB
import Synchronization
import Testing
@testable import StoaStore

@Suite("Request-path readers")
struct RequestReadersTests {
    @Test("threads reading at once each get a connection at once (none waits for another), and the connections are reused")
    func neverWaits() throws {
        let folder = try makeTemporaryFolder("stoa-readers")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("db.sqlite").path
        let database = try StoaDatabase(path: path, nodeName: "n1")
        let readers = try #require(database.requestReaders)

        // Eight threads, more than GRDB's default reader pool (5), each holding its read until
        // all eight are inside one: with a pool that waits for a free connection, they never
        // all get in and the barrier times out.
        let threads = 8
        let inside = Mutex(0)
        let allIn = DispatchSemaphore(value: 0)
        let metBarrier = Mutex(0)
        let done = DispatchGroup()
        for _ in 0..<threads {
            done.enter()
            Thread {
                let met = (try? readers.read { db -> Bool in
                    _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM quotes")
                    let count = inside.withLock { $0 += 1; return $0 }
                    if count == threads { for _ in 0..<threads { allIn.signal() } }
                    return allIn.wait(timeout: .now() + 10) == .success
                }) ?? false
                if met { metBarrier.withLock { $0 += 1 } }
                done.leave()
            }.start()
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(metBarrier.withLock { $0 } == threads)
        #expect(readers.idle == threads)
        // Later reads reuse them.
        for _ in 0..<20 { _ = try readers.read { try Int.fetchOne($0, sql: "SELECT 1") } }
        #expect(readers.idle == threads)
    }
}
