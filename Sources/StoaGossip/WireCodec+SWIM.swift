import StoaCore

extension WireCodec {
    // MARK: - SWIM envelopes

    enum SWIMKind: UInt8 {
        case ping = 1
        case pingRequest = 2
        case ack = 3
        case nack = 4
    }

    /// Sender id, meta, incarnation, then the message kind, sequence, target (all but ping)
    /// and the piggybacked claims.
    static func write(_ envelope: SWIMEnvelope, into writer: inout WireWriter) {
        write(envelope.from, into: &writer)
        writer.string(envelope.fromMeta)
        writer.varint(envelope.fromIncarnation)
        let gossip: [MemberUpdate]
        switch envelope.message {
        case .ping(let sequence, let updates):
            writer.byte(SWIMKind.ping.rawValue)
            writer.varint(sequence)
            gossip = updates
        case .pingRequest(let sequence, let target, let updates):
            writer.byte(SWIMKind.pingRequest.rawValue)
            writer.varint(sequence)
            write(target, into: &writer)
            gossip = updates
        case .ack(let sequence, let target, let updates):
            writer.byte(SWIMKind.ack.rawValue)
            writer.varint(sequence)
            write(target, into: &writer)
            gossip = updates
        case .nack(let sequence, let target, let updates):
            writer.byte(SWIMKind.nack.rawValue)
            writer.varint(sequence)
            write(target, into: &writer)
            gossip = updates
        }
        writer.count(gossip.count)
        for update in gossip { write(update, into: &writer) }
    }

    static func readEnvelope(from reader: inout WireReader) throws(WireCodecError) -> SWIMEnvelope {
        let from = try readMemberID(from: &reader)
        let fromMeta = try reader.string()
        let fromIncarnation = try readIncarnation(from: &reader)
        let rawKind = try reader.byte()
        guard let kind = SWIMKind(rawValue: rawKind) else { throw WireCodecError(reason: "unknown SWIM message kind \(rawKind)") }
        let sequence = try reader.varint()
        let target = kind == .ping ? nil : try readMemberID(from: &reader)
        let count = try reader.count()
        var gossip: [MemberUpdate] = []
        gossip.reserveCapacity(count)
        for _ in 0..<count { gossip.append(try readUpdate(from: &reader)) }
        let message: SWIMMessage
        switch (kind, target) {
        case (.ping, _):
            message = .ping(sequence: sequence, gossip: gossip)
        case (.pingRequest, let target?):
            message = .pingRequest(sequence: sequence, target: target, gossip: gossip)
        case (.ack, let target?):
            message = .ack(sequence: sequence, target: target, gossip: gossip)
        case (.nack, let target?):
            message = .nack(sequence: sequence, target: target, gossip: gossip)
        default:
            throw WireCodecError(reason: "missing target")
        }
        return SWIMEnvelope(from: from, fromMeta: fromMeta, fromIncarnation: fromIncarnation, message: message)
    }

    /// An incarnation number, at most ``MemberUpdate/maxIncarnation``.
    static func readIncarnation(from reader: inout WireReader) throws(WireCodecError) -> UInt64 {
        let incarnation = try reader.varint()
        guard incarnation <= MemberUpdate.maxIncarnation else { throw WireCodecError(reason: "incarnation out of range") }
        return incarnation
    }

    // MARK: - Members

    static func write(_ id: MemberID, into writer: inout WireWriter) {
        writer.string(id.name)
        writer.string(id.host)
        writer.signed(id.port)
    }

    static func readMemberID(from reader: inout WireReader) throws(WireCodecError) -> MemberID {
        let name = try reader.string()
        let host = try reader.string()
        let port = try reader.signed()
        return MemberID(name: name, host: host, port: port)
    }

    /// Id, status (0 alive, 1 suspect, 2 dead, 3 left), incarnation, meta, optional accuser.
    static func write(_ update: MemberUpdate, into writer: inout WireWriter) {
        write(update.id, into: &writer)
        switch update.status {
        case .alive: writer.byte(0)
        case .suspect: writer.byte(1)
        case .dead: writer.byte(2)
        case .left: writer.byte(3)
        }
        writer.varint(update.incarnation)
        writer.string(update.meta)
        if let accuser = update.accuser {
            writer.bool(true)
            writer.string(accuser)
        } else {
            writer.bool(false)
        }
    }

    static func readUpdate(from reader: inout WireReader) throws(WireCodecError) -> MemberUpdate {
        let id = try readMemberID(from: &reader)
        let status: MemberStatus
        switch try reader.byte() {
        case 0: status = .alive
        case 1: status = .suspect
        case 2: status = .dead
        case 3: status = .left
        default: throw WireCodecError(reason: "unknown member status")
        }
        let incarnation = try readIncarnation(from: &reader)
        let meta = try reader.string()
        let accuser = try reader.bool() ? try reader.string() : nil
        return MemberUpdate(id: id, status: status, incarnation: incarnation, meta: meta, accuser: accuser)
    }
}
