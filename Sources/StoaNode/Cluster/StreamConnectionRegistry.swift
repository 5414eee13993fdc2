import NIOCore
import Synchronization

/// The open inbound stream connections of a node's gossip port, shared by every event loop:
/// the network shell of ``StreamAdmission``. It closes the connections an admission evicts and
/// counts every refusal and eviction (``TransportCounters``).
final class StreamConnectionRegistry: Sendable {
    private struct State {
        var admission: StreamAdmission
        var channels: [StreamAdmission.ID: any Channel] = [:]
        var nextID: StreamAdmission.ID = 0
    }

    private let state: Mutex<State>
    let counters: TransportCounters

    init(limits: StreamLimits, counters: TransportCounters) {
        state = Mutex(State(admission: StreamAdmission(limits: limits)))
        self.counters = counters
    }

    /// Admits a newly accepted connection (from `address`, its remote IP): its id, or nil when
    /// refused (counted; the caller closes it). An admitted connection MUST be reported
    /// ``closed(_:)`` once it closes.
    func admit(_ channel: any Channel, address: String) -> StreamAdmission.ID? {
        let (id, decision, evicted) = state.withLock { state -> (StreamAdmission.ID, StreamAdmission.Decision, [(any Channel, TransportCounters.Reason)]) in
            state.nextID += 1
            let id = state.nextID
            let decision = state.admission.admit(id, address: address)
            var evicted: [(any Channel, TransportCounters.Reason)] = []
            if case .admitted(let evictions) = decision {
                state.channels[id] = channel
                for eviction in evictions {
                    if let channel = state.channels.removeValue(forKey: eviction.id) { evicted.append((channel, eviction.reason)) }
                }
            }
            return (id, decision, evicted)
        }
        for (channel, reason) in evicted {
            counters.reject(reason)
            channel.close(promise: nil)
        }
        recordGauges()
        guard case .admitted = decision else {
            counters.reject(.connectionLimit)
            return nil
        }
        return id
    }

    /// The connection's first frame authenticated; false when it was evicted meanwhile.
    func authenticate(_ id: StreamAdmission.ID) -> Bool {
        let done = state.withLock { $0.admission.authenticate(id) }
        recordGauges()
        return done
    }

    func closed(_ id: StreamAdmission.ID) {
        state.withLock { state in
            state.admission.closed(id)
            state.channels.removeValue(forKey: id)
        }
        recordGauges()
    }

    /// The address a connection counts against for ``StreamLimits/maxUnauthenticatedPerAddress``:
    /// the IPv4 address, or the /64 of an IPv6 one (one host usually holds a whole /64; an
    /// IPv4-mapped address counts as IPv4).
    static func addressKey(_ address: SocketAddress?) -> String {
        guard case .v6(let v6)? = address else { return address?.ipAddress ?? "" }
        let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        return bytes[0..<8].map { String($0, radix: 16) }.joined(separator: ":") + "/64"
    }

    /// Connections accepted since start (admitted or not).
    var acceptedConnections: UInt64 { state.withLock { $0.nextID } }

    /// Open connections now: (unauthenticated, authenticated).
    var openConnections: (unauthenticated: Int, authenticated: Int) {
        state.withLock { ($0.admission.unauthenticated.count, $0.admission.authenticated.count) }
    }

    private func recordGauges() {
        let open = openConnections
        counters.recordConnections(unauthenticated: open.unauthenticated, authenticated: open.authenticated)
    }
}
