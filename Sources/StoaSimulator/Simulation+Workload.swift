import StoaCore
import StoaStore

extension Simulation {
    // MARK: - Client writes

    /// The next write(s) of the workload, then the one after (until the workload ends).
    func clientWrite() async {
        for write in workload.plan() { await perform(write) }
        let next = now + workload.nextGap()
        if next < scenario.workload.durationMillis { queue.schedule(at: next, .write) }
    }

    /// Sends one write to its node's store. A write the store commits is acknowledged: it is
    /// recorded for the checks, and its sequence number goes to replication (which pushes it),
    /// as the shell's commit observer does.
    func perform(_ write: PlannedWrite) async {
        let node = nodes[write.node]
        let label = "\(now) \(node.name) \(write.kind.rawValue) \(write.recordID)"
        guard node.up, !node.leaving else {
            node.counters.writesUnavailable += 1
            trace.record("\(label) unavailable")
            return
        }
        let database = node.database
        var device: String?
        do {
            if let offset = write.deviceClockOffsetMillis {
                device = "client\(write.client + 1)"
                guard try await performDeviceEdit(write, offset: offset, device: device ?? "", on: database) else {
                    node.counters.writesRefused += 1
                    trace.record("\(label) device edit unchanged")
                    _ = node.commits.drain()
                    return
                }
            } else {
            switch write.kind {
            case .create:
                _ = try await database.create(.quotes, id: write.recordID, fields: write.fields, tags: write.tags)
            case .update:
                _ = try await database.update(.quotes, id: write.recordID, owner: nil, fields: write.fields)
            case .tags:
                _ = try await database.update(.quotes, id: write.recordID, owner: nil, fields: write.fields, tags: write.tagEdit)
            case .delete:
                try await database.delete(.quotes, id: write.recordID, owner: nil)
            case .restore:
                _ = try await database.restore(.quotes, id: write.recordID, owner: nil)
            case .signUp:
                var fields = write.fields
                fields["name"] = .string("")
                fields["passwordHash"] = .string("hash")
                fields["tokenKey"] = .string("key")
                _ = try await database.create(.users, id: write.recordID, fields: fields, unique: ["email"])
            case .superuser:
                var fields = write.fields
                fields["passwordHash"] = .string("hash")
                fields["tokenKey"] = .string("key")
                fields["verified"] = .bool(true)
                _ = try await database.create(.superusers, id: write.recordID, fields: fields, unique: ["email"])
            }
            }
        } catch let error as DeviceEditError {
            node.counters.writesRefused += 1
            trace.record("\(label) refused: \(error.reason)")
            _ = node.commits.drain()
            return
        } catch let error as StoreError {
            node.counters.writesRefused += 1
            trace.record("\(label) refused: \(error)")
            _ = node.commits.drain()
            return
        } catch {
            runViolations.append("\(label): store failed: \(error)")
            return
        }
        let commits = node.commits.drain()
        guard commits.count == 1, let commit = commits.first else {
            runViolations.append("\(label): committed \(commits.count) local changes, expected 1")
            return
        }
        let seq = commit.seq
        node.counters.writesAcknowledged += 1
        acknowledged.append(AcknowledgedWrite(
            origin: node.name, seq: seq, kind: write.kind, recordID: write.recordID, atMillis: now,
            requestedFields: write.fields, requestedTags: write.kind == .create ? write.tags : nil,
            requestedTagEdit: write.tagEdit, device: device,
            change: Change(origin: commit.origin, seq: seq, collection: commit.collection, recordID: commit.recordID, delta: commit.delta, owner: commit.owner)
        ))
        workload.acknowledged(write)
        trace.record("\(label) ok #\(seq)")
        await handle(node.localCommit(seq: seq), at: node)
    }

    /// Sends `write` as a one-edit device batch stamped with the device's wall clock (true
    /// time plus `offset`; the counter separates edits within one of its milliseconds), as an
    /// app syncing its offline edits does. Returns false when the edit changed nothing (a
    /// delete of a deleted quote, or an edit older than what the record holds).
    func performDeviceEdit(_ write: PlannedWrite, offset: Int64, device: String, on database: StoaDatabase) async throws -> Bool {
        let millis = UInt64(max(0, SimulatedClock.epochMillis &+ Int64(clamping: now) &+ offset))
        var reading = HLCTimestamp(millis: millis, counter: 0)
        if let last = deviceClocks[write.client], last >= reading {
            reading = last.counter == UInt16.max ? HLCTimestamp(millis: last.millis + 1, counter: 0) : HLCTimestamp(millis: last.millis, counter: last.counter + 1)
        }
        deviceClocks[write.client] = reading
        let operation: DeviceEdit.Operation
        switch write.kind {
        case .create: operation = .upsert(fields: write.fields, tags: .assign(write.tags))
        case .update: operation = .upsert(fields: write.fields, tags: nil)
        case .tags: operation = .upsert(fields: write.fields, tags: write.tagEdit)
        case .delete: operation = .delete
        case .restore: operation = .restore
        case .signUp, .superuser: return false   // devices make no accounts (the planner never asks them to)
        }
        let edit = DeviceEdit(id: write.recordID, stamp: DeviceEdit.stamp(device: device, millis: reading.millis, counter: reading.counter), operation: operation)
        let result = try await database.applyDeviceEdits([edit], owner: workload.clients[write.client].user)
        return result.applied == 1
    }
}
