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
        guard node.up else {
            node.counters.writesUnavailable += 1
            trace.record("\(label) unavailable")
            return
        }
        let database = node.database
        do {
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
            }
        } catch let error as StoreError {
            node.counters.writesRefused += 1
            trace.record("\(label) refused: \(error)")
            _ = node.commits.drain()
            return
        } catch {
            runViolations.append("\(label): store failed: \(error)")
            return
        }
        let seqs = node.commits.drain()
        guard seqs.count == 1, let seq = seqs.first else {
            runViolations.append("\(label): committed \(seqs.count) local changes, expected 1")
            return
        }
        node.counters.writesAcknowledged += 1
        acknowledged.append(AcknowledgedWrite(
            origin: node.name, seq: seq, kind: write.kind, recordID: write.recordID, atMillis: now,
            requestedFields: write.fields, requestedTags: write.kind == .create ? write.tags : nil,
            requestedTagEdit: write.tagEdit
        ))
        workload.acknowledged(write)
        trace.record("\(label) ok #\(seq)")
        await handle(node.localCommit(seq: seq), at: node)
    }
}
