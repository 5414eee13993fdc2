/// Which inbound gossip stream connections a node keeps open (``StreamLimits``): a pure value,
/// driven by ``StreamConnectionRegistry``.
///
/// Contract:
/// - At most `maxConnections` connections are open; one more is refused.
/// - A connection is unauthenticated from its admission until ``authenticate(_:)``. At most
///   `maxUnauthenticatedPerAddress` of them come from one address and `maxUnauthenticated` in
///   all: a new connection over either bound evicts the *oldest* unauthenticated one (of its
///   address first). So a client without the key holds a few slots for at most the hello
///   timeout each, and cannot keep out a peer's new connection, which authenticates with its
///   first frame, milliseconds after it is accepted.
/// - Authenticated connections are not evicted (only members hold the key; the idle timeout
///   closes the ones no longer used).
struct StreamAdmission {
    typealias ID = UInt64

    /// What admitting a connection decided.
    enum Decision: Equatable {
        /// Open; the listed connections must be closed for it.
        case admitted(evicting: [Eviction])
        /// `maxConnections` are open: close the new one.
        case refused
    }

    struct Eviction: Equatable {
        let id: ID
        let reason: TransportCounters.Reason
    }

    let limits: StreamLimits
    /// Unauthenticated connections, oldest first (at most `maxUnauthenticated`, so a scan is cheap).
    private(set) var unauthenticated: [(id: ID, address: String)] = []
    private(set) var authenticated: Set<ID> = []

    init(limits: StreamLimits) {
        self.limits = limits
    }

    var openCount: Int { unauthenticated.count + authenticated.count }

    mutating func admit(_ id: ID, address: String) -> Decision {
        guard openCount < limits.maxConnections else { return .refused }
        var evictions: [Eviction] = []
        if unauthenticated.count(where: { $0.address == address }) >= limits.maxUnauthenticatedPerAddress,
           let oldest = unauthenticated.firstIndex(where: { $0.address == address }) {
            evictions.append(Eviction(id: unauthenticated.remove(at: oldest).id, reason: .addressLimit))
        } else if unauthenticated.count >= limits.maxUnauthenticated, !unauthenticated.isEmpty {
            evictions.append(Eviction(id: unauthenticated.removeFirst().id, reason: .unauthenticatedLimit))
        }
        unauthenticated.append((id, address))
        return .admitted(evicting: evictions)
    }

    /// The connection's first frame authenticated. False when it is no longer open (evicted
    /// meanwhile): the caller closes it.
    mutating func authenticate(_ id: ID) -> Bool {
        guard let index = unauthenticated.firstIndex(where: { $0.id == id }) else { return false }
        unauthenticated.remove(at: index)
        authenticated.insert(id)
        return true
    }

    /// The connection closed (a no-op for one already evicted).
    mutating func closed(_ id: ID) {
        if authenticated.remove(id) == nil { unauthenticated.removeAll { $0.id == id } }
    }
}
