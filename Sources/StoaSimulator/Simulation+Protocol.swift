import StoaCore
import StoaGossip
import StoaStore

extension Simulation {
    // MARK: - Ticks

    /// A node's timer: SWIM's tick, then replication's, as `ClusterNode.tick()` does. Ticks
    /// scheduled before a crash (an older epoch) are dropped.
    func tick(_ index: Int, epoch: Int) async {
        let node = nodes[index]
        guard node.up, node.epoch == epoch else { return }
        if node.leaving {
            await leavingStep(node)
            guard node.up else { return }
        }
        await handle(node.swimTick(), at: node)
        await handle(node.replicationTick(), at: node)
        queue.schedule(at: now + scenario.tickMillis, .tick(node: index, epoch: epoch))
    }

    // MARK: - Directives (as ClusterNode.handle carries them out)

    func handle(_ directives: [SWIMDirective], at node: SimulatedNode) async {
        for directive in directives {
            switch directive {
            case .send(let envelope, let address):
                guard let target = addresses[address] else {
                    trace.record("\(now) \(node.name) no node at \(address)")
                    continue
                }
                transmit(.swim(envelope), from: node.index, to: target, channel: .datagram)
            case .statusChanged(let id, let from, let to, _):
                // As the shell: follow the name's current identity; suspects still get changes.
                let current = node.swim.member(named: id.name)
                node.memberIDs[id.name] = current?.id ?? id
                trace.record("\(now) \(node.name) sees \(id.name) \(from?.rawValue ?? "new")->\(to.rawValue)")
                let status = current?.status ?? to
                if status == .left {
                    node.peerLeft(id.name)
                } else {
                    await handle(node.peerStatus(id.name, alive: !status.isDown), at: node)
                }
            case .metaChanged(let id, let meta):
                trace.record("\(now) \(node.name) sees \(id.name) announce \(meta)")
            }
        }
    }

    func handle(_ directives: [ReplicationDirective], at node: SimulatedNode) async {
        for directive in directives {
            switch directive {
            case .push(let seqs, let peers):
                let changes: [Change]
                do { changes = try await node.database.localChanges(seqs) } catch {
                    runViolations.append("\(node.name): reading local changes \(seqs) failed: \(error)")
                    continue
                }
                guard !changes.isEmpty else { continue }
                for peer in peers { send(.changes(from: node.name, changes, vector: nil), from: node, toPeer: peer) }
            case .antiEntropy(let peer):
                // As the shell: one pull at a time (a pull older than the window no longer counts).
                let started = node.now
                let window = node.replicationConfiguration.pullWindowMillis
                node.pulls = node.pulls.filter { started - $0.value < window }
                node.transferring = node.transferring.filter { started - $0.value < window }
                guard node.pulls.keys.allSatisfy({ $0 == peer }), node.transferring[peer] == nil else { continue }
                node.pulls[peer] = started
                send(.vector(from: node.name, node.database.versionVector()), from: node, toPeer: peer)
            case .compact:
                // As the shell: remove from the log what every member holds, as far as this node knows.
                guard let stable = node.replication.stablePoint(own: node.database.versionVector(), now: node.now) else {
                    trace.record("\(now) \(node.name) compaction waits for a peer's vector")
                    continue
                }
                do {
                    let removed = try await node.database.compact(upTo: stable)
                    node.counters.compacted += removed
                    trace.record("\(now) \(node.name) compacted \(removed)")
                } catch {
                    runViolations.append("\(node.name): compaction failed: \(error)")
                }
            }
        }
    }

    /// A stream message to a peer by name, routed through the member ids SWIM reported (a
    /// peer not heard of yet is unreachable, as in the shell).
    func send(_ message: WireMessage, from node: SimulatedNode, toPeer peer: String) {
        guard let id = node.memberIDs[peer], let target = addresses[id.address] else {
            trace.record("\(now) \(node.name) cannot reach \(peer)")
            return
        }
        transmit(message, from: node.index, to: target, channel: .stream)
    }

    /// Encodes the message and hands it to the network, which decides its fate.
    func transmit(_ message: WireMessage, from: Int, to: Int, channel: MessageChannel) {
        let bytes = WireCodec.encode(message)
        messageNumber += 1
        let fate = network.transmit(from: from, to: to, byteCount: bytes.count)
        let outcome: String
        switch fate {
        case .cut: outcome = "cut"
        case .lost: outcome = "lost"
        case .delivered(let delays): outcome = "+" + delays.map(String.init).joined(separator: "+")
        }
        trace.record("\(now) \(names[from])>\(names[to]) #\(messageNumber) \(Self.summary(message)) \(bytes.count)B \(outcome)")
        guard case .delivered(let delays) = fate else { return }
        for delay in delays {
            queue.schedule(at: now + delay, .deliver(InFlightMessage(from: from, to: to, channel: channel, bytes: bytes, number: messageNumber)))
        }
    }

    static func summary(_ message: WireMessage) -> String {
        switch message {
        case .swim(let envelope):
            let kind: String
            switch envelope.message {
            case .ping: kind = "ping"
            case .pingRequest: kind = "ping-req"
            case .ack: kind = "ack"
            case .nack: kind = "nack"
            }
            return "swim.\(kind) seq=\(envelope.message.sequence) inc=\(envelope.fromIncarnation) gossip=\(envelope.message.gossip.count)"
        case .vector:
            return "vector"
        case .changes(_, let changes, let vector):
            return "changes n=\(changes.count)\(vector == nil ? "" : " +vector")"
        case .snapshot(_, let batch):
            return "snapshot id=\(batch.id) #\(batch.index)\(batch.isLast ? " last" : "") n=\(batch.records.count)"
        case .hello:
            return "hello"
        case .loginFailures(_, let keys):
            return "login-failures n=\(keys.count)"
        case .limits(_, let entries):
            return "limits n=\(entries.count)"
        case .cacheNotice(_, let notice):
            return "cache-notice seq=\(notice.sequence) n=\(notice.invalidations.count)"
        case .cacheAck(_, _, let sequence):
            return "cache-ack seq=\(sequence)"
        }
    }

    // MARK: - Delivery (as ClusterNode.received does)

    func deliver(_ message: InFlightMessage) async {
        let node = nodes[message.to]
        guard network.admit(from: message.from, to: message.to, targetUp: node.up) else {
            trace.record("\(now) \(node.name)<\(names[message.from]) #\(message.number) dropped")
            return
        }
        let decoded: WireMessage
        do { decoded = try WireCodec.decode(message.bytes) } catch {
            node.counters.malformed += 1
            runViolations.append("\(node.name): a message the codec encoded failed to decode: \(error)")
            return
        }
        trace.record("\(now) \(node.name)<\(names[message.from]) #\(message.number)")
        switch (message.channel, decoded) {
        case (.datagram, .swim(let envelope)):
            await handle(node.swimMessage(envelope), at: node)
        case (.stream, .vector(let peer, let vector)):
            node.peerVector(peer, vector: vector)
            await sendMissing(from: node, to: peer, theirVector: vector)
        case (.stream, .snapshot(let peer, let batch)):
            // As the shell: the transfer is a pull still streaming.
            if batch.isLast {
                node.transferring[peer] = nil
            } else {
                node.pulls[peer] = node.now
                node.transferring[peer] = node.now
            }
            do {
                let result = try await node.database.apply(snapshot: batch.records)
                node.counters.applied += result.applied.count
                _ = node.commits.drain()
                if let floor = node.transfers.merged(batch, from: peer, now: node.now) {
                    try await node.database.adoptFloor(floor)
                    node.counters.stateTransfersReceived += 1
                    trace.record("\(now) \(node.name) state transfer from \(peer) complete")
                } else {
                    trace.record("\(now) \(node.name) merged snapshot batch #\(batch.index) applied=\(result.applied.count)")
                }
            } catch {
                runViolations.append("\(node.name): merging a snapshot batch from \(peer) failed: \(error)")
            }
        case (.stream, .changes(let peer, let changes, let vector)):
            if !changes.isEmpty {
                do {
                    let result: RemoteApplyResult
                    if let merge = node.merge {
                        result = try await node.database.apply(remote: changes, merge: merge)
                    } else {
                        result = try await node.database.apply(remote: changes)
                    }
                    node.counters.applied += result.applied.count
                    node.counters.duplicates += result.duplicates
                    node.counters.driftRejected += result.rejectedForDrift
                    node.counters.hidden += result.hidden
                    trace.record("\(now) \(node.name) merged applied=\(result.applied.count) duplicates=\(result.duplicates) drift=\(result.rejectedForDrift)")
                    _ = node.commits.drain()
                } catch {
                    runViolations.append("\(node.name): merging \(changes.count) changes from \(peer) failed: \(error)")
                    return
                }
            }
            if let vector {
                node.peerVector(peer, vector: vector)
                if changes.count < node.replicationConfiguration.maxBatch { node.pulls[peer] = nil }
            } else if !changes.isEmpty {
                // A push that left a gap: ask the pusher to fill it (as the shell).
                let local = node.database.versionVector()
                if Set(changes.map(\.origin)).contains(where: { !(local.entries[$0]?.extra.isEmpty ?? true) }) {
                    send(.vector(from: node.name, local), from: node, toPeer: peer)
                }
            }
        default:
            node.counters.malformed += 1
            trace.record("\(now) \(node.name) wrong channel for #\(message.number)")
        }
    }

    /// Sends `peer` every change it lacks (the vector it just sent), in batches, each carrying
    /// our vector (as `ClusterNode.sendMissing` does, including the empty batch that reports our
    /// vector), after a state transfer when it lacks changes below our floor.
    func sendMissing(from node: SimulatedNode, to peer: String, theirVector: VersionVector) async {
        var known = theirVector
        if node.database.needsStateTransfer(for: theirVector) {
            guard let floor = await sendSnapshot(from: node, to: peer) else { return }
            known.merge(floor)
        }
        let limit = node.replicationConfiguration.maxBatch
        for _ in 0..<10_000 {
            let batch: [Change]
            do { batch = try await node.database.changes(notIn: known, limit: limit) } catch {
                runViolations.append("\(node.name): reading changes for \(peer) failed: \(error)")
                return
            }
            send(.changes(from: node.name, batch, vector: node.database.versionVector()), from: node, toPeer: peer)
            guard batch.count == limit else { return }
            for change in batch { known.insert(origin: change.origin, seq: change.seq) }
        }
    }

    /// Streams every record state to `peer` (as `ClusterNode.sendSnapshot` does): our floor,
    /// read first, then batches numbered from 0, the last one marked. Returns the floor.
    func sendSnapshot(from node: SimulatedNode, to peer: String) async -> VersionVector? {
        let floor = node.database.floorVector()
        let id = node.nextSnapshotID
        node.nextSnapshotID += 1
        node.counters.stateTransfersSent += 1
        let limit = max(1, node.replicationConfiguration.snapshotBatch)
        var index: UInt64 = 0
        var position: RecordSnapshot.Position?
        while true {
            let records: [RecordSnapshot]
            let next: RecordSnapshot.Position?
            do { (records, next) = try await node.database.recordSnapshots(after: position, limit: limit) } catch {
                runViolations.append("\(node.name): reading record states for \(peer) failed: \(error)")
                return nil
            }
            send(.snapshot(from: node.name, SnapshotBatch(id: id, index: index, isLast: next == nil, floor: floor, records: records)), from: node, toPeer: peer)
            index += 1
            guard let next else { return floor }
            position = next
        }
    }
}
