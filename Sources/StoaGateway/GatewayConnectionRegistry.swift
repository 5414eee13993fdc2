import NIOCore
import Synchronization

/// The gateway server's open client connections: admits at most `maxConnections` at once
/// (``admit()``), and lets a shutdown end what would not end on its own: streamed answers
/// (server-sent events) when shutdown starts, and every connection still open when the drain
/// time is over.
final class GatewayConnectionRegistry: Sendable {
    let maxConnections: Int
    let counters: GatewayServerCounters
    private let open = Atomic<Int>(0)
    private let handlers = Mutex<[ObjectIdentifier: GatewayConnectionHandler]>([:])

    init(maxConnections: Int, counters: GatewayServerCounters) {
        self.maxConnections = maxConnections
        self.counters = counters
    }

    /// Counts a new connection in; false (counted as refused) when `maxConnections` are open. An
    /// admitted connection MUST be ``release()``d once when it closes.
    func admit() -> Bool {
        let count = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard count <= maxConnections else {
            open.wrappingSubtract(1, ordering: .relaxed)
            counters.refused.increment()
            return false
        }
        counters.open.record(count)
        return true
    }

    func release() {
        counters.open.record(open.wrappingSubtract(1, ordering: .relaxed).newValue)
    }

    /// Connections admitted and not released.
    var openConnections: Int { open.load(ordering: .relaxed) }

    func add(_ handler: GatewayConnectionHandler) { handlers.withLock { $0[ObjectIdentifier(handler)] = handler } }
    func remove(_ handler: GatewayConnectionHandler) { _ = handlers.withLock { $0.removeValue(forKey: ObjectIdentifier(handler)) } }

    /// Closes the connections that are streaming an answer (on their loops).
    func endStreams() {
        for handler in handlers.withLock({ Array($0.values) }) { handler.endStreamForShutdown() }
    }

    /// Closes every connection still open.
    func closeAll() {
        for handler in handlers.withLock({ Array($0.values) }) { handler.closeForShutdown() }
    }
}
