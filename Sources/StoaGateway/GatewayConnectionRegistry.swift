import NIOCore
import Synchronization

/// The gateway server's open client connections, so a shutdown can end what would not end on
/// its own: streamed answers (server-sent events) when shutdown starts, and every connection
/// still open when the drain time is over.
final class GatewayConnectionRegistry: Sendable {
    private let handlers = Mutex<[ObjectIdentifier: GatewayConnectionHandler]>([:])

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
