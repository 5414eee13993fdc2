import StoaCore
import Synchronization
import Testing
@testable import StoaStore

@Suite("Record events for realtime")
struct RecordEventTests {
    let clock = TestClock()
    let owner = "alice0000000001"

    /// Collects the events a database publishes.
    final class Recorder: Sendable {
        let events = Mutex<[RecordEvent]>([])
        init(_ database: StoaDatabase) { database.onRecordEvents { batch in self.events.withLock { $0 += batch } } }
        func take() -> [RecordEvent] { events.withLock { taken in defer { taken = [] }; return taken } }
    }

    @Test("local writes publish create, update and delete with the record as now (as last, for a delete)")
    func localWrites() async throws {
        let db = try StoaDatabase.inMemory(nodeName: "n1", physicalMillis: clock.now)
        let recorder = Recorder(db)
        let created = try await db.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: ["content": .string("v1"), "userId": .string(owner)], tags: ["t"])
        let updated = try await db.update(.quotes, id: "aaaaaaaaaaaaaa1", owner: owner, fields: ["content": .string("v2")])
        try await db.delete(.quotes, id: "aaaaaaaaaaaaaa1", owner: owner)
        let restored = try await db.restore(.quotes, id: "aaaaaaaaaaaaaa1", owner: owner)
        let events = recorder.take()
        #expect(events.map(\.action) == [.create, .update, .delete, .create])
        #expect(events.allSatisfy { $0.owner == owner })
        #expect(events[0].record == created && events[1].record == updated && events[3].record == restored)
        #expect(events[2].record.text("content") == "v2")
    }

    @Test("a replicated batch publishes one event per record with the merged record; a repeat publishes nothing")
    func remoteBatch() async throws {
        let n1 = try StoaDatabase.inMemory(nodeName: "n1", physicalMillis: clock.now)
        let n2 = try StoaDatabase.inMemory(nodeName: "n2", physicalMillis: clock.now)
        _ = try await n1.create(.quotes, id: "aaaaaaaaaaaaaa1", fields: ["content": .string("v1"), "userId": .string(owner)])
        _ = try await n1.update(.quotes, id: "aaaaaaaaaaaaaa1", owner: owner, fields: ["content": .string("v2")])
        _ = try await n1.create(.quotes, id: "aaaaaaaaaaaaaa2", fields: ["content": .string("other"), "userId": .string(owner)])
        let recorder = Recorder(n2)
        let batch = try await n1.changes(notIn: VersionVector())
        _ = try await n2.apply(remote: batch)
        let events = recorder.take()
        #expect(events.map(\.action) == [.create, .create])
        #expect(events.map(\.record.id) == ["aaaaaaaaaaaaaa1", "aaaaaaaaaaaaaa2"])
        #expect(events[0].record == (try await n2.record(.quotes, id: "aaaaaaaaaaaaaa1", owner: nil)), "the merged record")
        _ = try await n2.apply(remote: batch)
        #expect(recorder.take().isEmpty)

        try await n1.delete(.quotes, id: "aaaaaaaaaaaaaa2", owner: owner)
        _ = try await n2.apply(remote: n1.changes(notIn: n2.versionVector()))
        #expect(recorder.take().map(\.action) == [.delete])
    }

    @Test("device edits publish events; an unchanged resend publishes nothing")
    func deviceEdits() async throws {
        let db = try StoaDatabase.inMemory(nodeName: "n1", physicalMillis: clock.now)
        let recorder = Recorder(db)
        let edits = [
            DeviceEdit(id: "aaaaaaaaaaaaaa1", stamp: DeviceEdit.stamp(device: "p", millis: clock.now(), counter: 0), operation: .upsert(fields: ["content": .string("a")], tags: nil)),
            DeviceEdit(id: "aaaaaaaaaaaaaa1", stamp: DeviceEdit.stamp(device: "p", millis: clock.now(), counter: 1), operation: .upsert(fields: ["notes": .string("n")], tags: nil)),
        ]
        _ = try await db.applyDeviceEdits(edits, owner: owner)
        #expect(recorder.take().map(\.action) == [.create, .update])
        _ = try await db.applyDeviceEdits(edits, owner: owner)
        #expect(recorder.take().isEmpty)
    }
}
