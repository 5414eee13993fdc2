import Crypto

/// The receive state a ``FrameSealer`` keeps per sender session: the session's derived key (so
/// HKDF runs once per session) and its ``ReplayWindow``, for at most `capacity` sessions. A
/// pure value (the sealer guards it with a lock).
///
/// Contract: entries are added only for frames that authenticated, so only key holders take
/// room; past `capacity` the least recently used session is forgotten. A forgotten session's
/// window is lost: its frames still inside the window could be accepted once more (only when
/// more than `capacity` live sessions send to one process: every restart of a member starts a
/// new session).
struct SessionWindows {
    struct ID: Hashable {
        let keyID: UInt32
        let session: [UInt8]
        let channel: FrameSealer.Channel
    }

    struct Entry {
        let key: SymmetricKey
        var window = ReplayWindow()
        var lastUse: UInt64
    }

    let capacity: Int
    private(set) var entries: [ID: Entry] = [:]
    private var clock: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// The derived key of a session already tracked.
    func key(_ id: ID) -> SymmetricKey? { entries[id]?.key }

    /// Records `counter` for the session (tracking it with `key` when new); false when the
    /// window refuses it (a replay).
    mutating func accept(_ counter: UInt64, for id: ID, key: SymmetricKey) -> Bool {
        clock += 1
        var entry = entries[id] ?? Entry(key: key, lastUse: clock)
        guard entry.window.accept(counter) else { return false }
        entry.lastUse = clock
        if entries[id] == nil, entries.count >= capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            entries.removeValue(forKey: oldest)
        }
        entries[id] = entry
        return true
    }
}
