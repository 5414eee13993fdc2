import Foundation
import StoaCore
import Testing
@testable import StoaStore

@Suite("Merging remote changes between replicas")
struct ReplicationMergeTests {
    let clock = TestClock()

    /// Sends each side what the other lacks, both ways.
    func sync(_ a: StoaDatabase, _ b: StoaDatabase) async throws {
        _ = try await b.apply(remote: a.changes(notIn: b.versionVector()))
        _ = try await a.apply(remote: b.changes(notIn: a.versionVector()))
    }

    @Test("concurrent edits, tag additions and a delete racing an edit converge to equal digests")
    func converge() async throws {
        let n1 = try StoaDatabase.inMemory(nodeName: "n1", physicalMillis: clock.now)
        let n2 = try StoaDatabase.inMemory(nodeName: "n2", physicalMillis: clock.now)
        let owner = "user00000000001"
        _ = try await n1.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: ["content": .string("v0"), "userId": .string(owner)], tags: ["stoic"])
        _ = try await n1.create(.quotes, id: "aaaaaaaaaaaaaa2", fields: ["content": .string("doomed"), "userId": .string(owner)])
        try await sync(n1, n2)
        #expect(try await n1.digest() == n2.digest())

        clock.advance(10)
        _ = try await n1.update(.quotes, id: "aaaaaaaaaaaaaa1", owner: owner, fields: ["content": .string("from n1")], tags: .assign(["stoic", "seneca"]))
        _ = try await n2.update(.quotes, id: "aaaaaaaaaaaaaa1", owner: owner, fields: ["content": .string("from n2")], tags: .assign(["stoic", "time"]))
        try await n1.delete(.quotes, id: "aaaaaaaaaaaaaa2", owner: owner)
        _ = try await n2.update(.quotes, id: "aaaaaaaaaaaaaa2", owner: owner, fields: ["notes": .string("edited")])
        try await sync(n1, n2)

        #expect(try await n1.digest() == n2.digest())
        let one1 = try #require(try await n1.record(.quotes, id: "aaaaaaaaaaaaaa1", owner: nil))
        let one2 = try #require(try await n2.record(.quotes, id: "aaaaaaaaaaaaaa1", owner: nil))
        #expect(one1 == one2)
        #expect(one1.text("content") == "from n2", "same HLC: the greater node id wins")
        // Both additions survive; the winning writer's order comes first, the concurrent add after.
        #expect(one1.tags == ["stoic", "time", "seneca"])
        // A delete beats a concurrent edit of a live record (the edit lands in the deleted state).
        #expect(try await n1.record(.quotes, id: "aaaaaaaaaaaaaa2", owner: nil) == nil)
        #expect(try await n2.record(.quotes, id: "aaaaaaaaaaaaaa2", owner: nil) == nil)
    }

    @Test("applying the same batch twice changes nothing")
    func idempotent() async throws {
        let n1 = try StoaDatabase.inMemory(nodeName: "n1", physicalMillis: clock.now)
        let n2 = try StoaDatabase.inMemory(nodeName: "n2", physicalMillis: clock.now)
        for index in 1...5 {
            _ = try await n1.create(.quotes, id: "aaaaaaaaaaaaaa\(index)", fields: ["content": .string("\(index)"), "userId": .string("u")])
        }
        let batch = try await n1.changes(notIn: VersionVector())
        let first = try await n2.apply(remote: batch)
        let digest = try await n2.digest()
        let second = try await n2.apply(remote: batch)
        #expect(first.applied.count == 5)
        #expect(second.applied.isEmpty && second.duplicates == 5)
        #expect(try await n2.digest() == digest)
        #expect(try await n2.digest() == n1.digest())
    }

    @Test("a change stamped beyond the drift bound is rejected and counted")
    func driftRejected() async throws {
        let ahead = TestClock(clock.now() + 120_000)
        let n1 = try StoaDatabase.inMemory(nodeName: "n1", physicalMillis: ahead.now)
        let n2 = try StoaDatabase.inMemory(nodeName: "n2", maxDriftMillis: 60_000, physicalMillis: clock.now)
        _ = try await n1.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: ["content": .string("future"), "userId": .string("u")])
        let result = try await n2.apply(remote: n1.changes(notIn: VersionVector()))
        #expect(result.rejectedForDrift == 1)
        #expect(try await n2.record(.quotes, id: "aaaaaaaaaaaaaa1", owner: nil) == nil)
    }
}
