import Synchronization

/// Which node took each user's last write, for `windowNanos` after it: the user's requests go
/// there meanwhile (when it is routable), so a client reads its own write even before the write
/// has replicated to the other nodes. Bounded: cleared when it holds `capacity` users.
public final class WriterAffinity: Sendable {
    let windowNanos: UInt64
    let capacity: Int
    private let table = Mutex<[String: (node: String, until: UInt64)]>([:])

    public init(windowNanos: UInt64 = 2_000_000_000, capacity: Int = 100_000) {
        self.windowNanos = windowNanos
        self.capacity = capacity
    }

    func wrote(user: String, on node: String, now: UInt64) {
        table.withLock { table in
            if table.count >= capacity { table.removeAll(keepingCapacity: true) }
            table[user] = (node, now + windowNanos)
        }
    }

    func node(for user: String, now: UInt64) -> String? {
        table.withLock { table in
            guard let entry = table[user] else { return nil }
            guard now < entry.until else {
                table[user] = nil
                return nil
            }
            return entry.node
        }
    }
}
