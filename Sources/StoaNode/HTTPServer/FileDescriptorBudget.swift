/// How many client connections a process can hold open within its descriptor limit without ever
/// running out: a process that reaches its limit does not only fail to accept. libdispatch (under
/// Swift concurrency on Linux) opens `/proc/<tid>/stat` to manage its worker threads and stops the
/// process with SIGILL when that open fails ("workq: registered worker exited prematurely"), and
/// SQLite fails to open a reader. So the client-connection limit is clamped to what is left once
/// the descriptors open at startup, the other listeners' connection limits and ``runtimeReserve``
/// are set aside; connections beyond it are accepted and closed at once, never left to exhaust
/// the table.
public struct FileDescriptorBudget: Sendable, Equatable {
    /// Descriptors kept free for the runtime: SQLite's connections (each holds the database, its
    /// WAL and its shared-memory file), the mail and log sockets, libdispatch's reads of `/proc`,
    /// and the one connection accepted beyond the limit before it is closed.
    public static let runtimeReserve = 64
    /// Below this many client connections a process refuses to start (it could not serve).
    public static let minimumClientConnections = 16

    /// The soft `RLIMIT_NOFILE` in force.
    public let limit: Int
    /// Descriptors open when the budget is taken (inherited ones, the database, the loops).
    public let open: Int
    /// Connections other listeners may hold (gossip streams, the gateway's upstream connections).
    public let otherConnections: Int

    public init(limit: Int, open: Int, otherConnections: Int) {
        self.limit = limit
        self.open = open
        self.otherConnections = otherConnections
    }

    /// Client connections that fit: `limit − open − otherConnections − runtimeReserve`, at most
    /// `wanted`; nil when fewer than ``minimumClientConnections`` fit.
    public func clientConnections(wanted: Int) -> Int? {
        let room = limit - open - otherConnections - Self.runtimeReserve
        guard room >= Self.minimumClientConnections else { return nil }
        return min(wanted, room)
    }
}
