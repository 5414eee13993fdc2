import GRDB
import Synchronization

/// Read-only connections for the request path's reads, which run on the calling thread (see
/// ``StoaDatabase/readHere(_:)``).
///
/// A read takes a free connection or, when every one is in use, opens another: it never waits for
/// a connection. (Waiting is what GRDB's shared reader pool does, and a thread of Swift's
/// cooperative pool blocked there can wait forever: the readers it waits for may be held by async
/// reads that need a cooperative thread to resume and give them back.) Connections in use at once
/// are at most the threads reading at once, and they are kept for reuse.
final class RequestReaders: Sendable {
    private let path: String
    private let free = Mutex<[DatabaseQueue]>([])

    init(path: String) {
        self.path = path
    }

    /// Runs `body` in a read transaction of its own on a connection no other thread uses meanwhile.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let connection = try free.withLock { $0.popLast() } ?? open()
        defer { free.withLock { $0.append(connection) } }
        return try connection.read(body)
    }

    /// Connections opened so far and not in use (for tests).
    var idle: Int { free.withLock { $0.count } }

    private func open() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        configuration.label = "stoa.request-reader"
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
