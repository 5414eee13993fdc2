import StoaCore

/// One acknowledged write as the reference model sees it: its stamp, the registers it set,
/// the causal length it set (create, delete, restore), and the tag adds and observed removes
/// it made — taken from the change the origin recorded, flattened to plain values so the
/// model does not call the CRDT merge code it checks.
struct ModelWrite: Sendable {
    var write: AcknowledgedWrite
    var stamp: Stamp
    /// The lineage the write belongs to (``StoaCore/Change/owner``, as the origin attributed it).
    var owner: String
    /// Field registers set, by name: text fields, `created`, and `tags` (the tag order).
    var fields: [String: FieldValue]
    var length: UInt64?
    /// Per tag: add tags made by this write (its own stamp) or re-listed as observed.
    var tagAdds: [String: Set<Stamp>]
    /// Per tag: the add tags this write observed and removed.
    var tagRemoves: [String: Set<Stamp>]

    /// Flattens the change `change`, recorded for `write`.
    ///
    /// - Returns: `nil` with a reason when the change does not match the write (another
    ///   record, a register with a foreign stamp, or a requested field missing or different).
    static func make(_ write: AcknowledgedWrite, change: Change) -> (ModelWrite?, String?) {
        let stamp = change.stamp
        guard change.recordID == write.recordID, change.collection == "quotes" else {
            return (nil, "\(write.label): the change recorded is for \(change.collection)/\(change.recordID)")
        }
        guard stamp.node == write.stampNode else { return (nil, "\(write.label): stamped by \(stamp.node), not \(write.stampNode)") }
        var fields: [String: FieldValue] = [:]
        for (name, register) in change.delta.fields.sorted(by: { $0.key < $1.key }) {
            guard register.stamp == stamp else { return (nil, "\(write.label): register \(name) stamped \(register.stamp), not \(stamp)") }
            fields[name] = register.value
        }
        for (name, value) in write.requestedFields.sorted(by: { $0.key < $1.key }) where fields[name] != value {
            return (nil, "\(write.label): field \(name) recorded as \(String(describing: fields[name])), requested \(value)")
        }
        var requestedOrder = write.requestedTags
        if case .assign(let list)? = write.requestedTagEdit { requestedOrder = list }
        if let order = requestedOrder, fields[RecordState.tagOrderField] != .strings(order) {
            return (nil, "\(write.label): tag order recorded as \(String(describing: fields[RecordState.tagOrderField])), requested \(order)")
        }
        var adds: [String: Set<Stamp>] = [:]
        var removes: [String: Set<Stamp>] = [:]
        for (element, entry) in change.delta.tags.entries {
            if !entry.adds.isEmpty { adds[element] = entry.adds }
            if !entry.removes.isEmpty { removes[element] = entry.removes }
        }
        let setsLength = change.delta.lengthStamp == stamp && change.delta.length.value > 0
        let model = ModelWrite(
            write: write, stamp: stamp, owner: change.owner, fields: fields, length: setsLength ? change.delta.length.value : nil,
            tagAdds: adds, tagRemoves: removes
        )
        switch write.kind {
        case .create, .restore:
            guard let length = model.length, length % 2 == 1 else { return (nil, "\(write.label): no odd causal length recorded") }
        case .delete:
            guard let length = model.length, length % 2 == 0 else { return (nil, "\(write.label): no even causal length recorded") }
        case .signUp, .superuser:
            return (nil, "\(write.label): an account is not a quote write")
        case .update, .tags:
            // A device's edit is an upsert: on a node that has not seen the quote yet it creates it.
            guard model.length == nil || (write.device != nil && model.length == 1) else {
                return (nil, "\(write.label): an update changed the causal length")
            }
        }
        return (model, nil)
    }
}
