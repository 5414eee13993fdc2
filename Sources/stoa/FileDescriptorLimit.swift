#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Foundation
import StoaNode

/// The process's limit of open file descriptors (`RLIMIT_NOFILE`).
enum FileDescriptorLimit {
    /// Raises the soft limit to the hard limit (each client connection holds a descriptor, and
    /// distributions start processes with a soft limit as low as 1024). Returns the soft limit
    /// now in force, or nil when it cannot be read.
    static func raiseToHardLimit() -> UInt64? {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return UInt64(limit.rlim_cur)
    }
}

extension FileDescriptorLimit {
    /// Descriptors this process has open now (entries of `/proc/self/fd`), or nil where that
    /// directory does not exist.
    static func openCount() -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map(\.count)
    }

    /// The client-connection limit that fits in the descriptor limit (``FileDescriptorBudget``):
    /// `wanted` when the limit cannot be read; throws when too few connections fit to serve.
    /// `otherConnections` gets the limit and returns the descriptors other listeners may hold.
    static func clientConnections(
        wanted: Int, otherConnections: (Int) -> Int, option: String
    ) throws -> (limit: UInt64?, connections: Int) {
        guard let files = raiseToHardLimit(), let open = openCount() else { return (nil, wanted) }
        let otherConnections = otherConnections(Int(clamping: files))
        let budget = FileDescriptorBudget(limit: Int(clamping: files), open: open, otherConnections: otherConnections)
        guard let connections = budget.clientConnections(wanted: wanted) else {
            throw ValidationError(
                "the file descriptor limit (\(files)) leaves fewer than \(FileDescriptorBudget.minimumClientConnections) client connections once "
                + "\(open) open descriptors, \(otherConnections) \(option) and \(FileDescriptorBudget.runtimeReserve) for the runtime are set aside; "
                + "raise it (ulimit -n, LimitNOFILE= in systemd)"
            )
        }
        return (files, connections)
    }
}
