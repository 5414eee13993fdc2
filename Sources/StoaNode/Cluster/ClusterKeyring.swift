import Synchronization

/// The cluster keys a process holds, as memberlist's keyring: the first is the *primary*, the
/// only one messages are sealed with; every key is accepted when opening. Shared by the node's
/// (or gateway's) ``FrameSealer`` and whoever reloads the keys (`SIGHUP` re-reads
/// `--cluster-key-file`), so a replacement takes effect for the next message sealed or opened.
///
/// Rotation: add the new key as a secondary everywhere, then make it primary everywhere, then
/// remove the old one (README, "Rotating the cluster key").
public final class ClusterKeyring: Sendable {
    private let state: Mutex<[ClusterKey]>

    /// - Parameter keys: at least one non-empty key (a precondition); the first is primary. Duplicates are dropped
    ///   (the first occurrence stays).
    public init(keys: [String]) {
        let normalized = Self.normalize(keys)
        precondition(!normalized.isEmpty, "a keyring holds at least one key")
        state = Mutex(normalized)
    }

    /// Replaces every key (the first is primary). An empty list is refused (returns false,
    /// keys unchanged): a process without a key could neither send nor receive.
    @discardableResult
    public func replace(keys: [String]) -> Bool {
        let normalized = Self.normalize(keys)
        guard !normalized.isEmpty else { return false }
        state.withLock { $0 = normalized }
        return true
    }

    /// The key messages are sealed with.
    public var primary: ClusterKey { state.withLock { $0[0] } }

    /// Every key accepted, primary first.
    public var keys: [ClusterKey] { state.withLock { $0 } }

    /// The accepted key with this id, if any.
    func key(id: UInt32) -> ClusterKey? { state.withLock { keys in keys.first { $0.id == id } } }

    private static func normalize(_ keys: [String]) -> [ClusterKey] {
        var seen = Set<ClusterKey>()
        var result: [ClusterKey] = []
        for text in keys where !text.isEmpty {
            let key = ClusterKey(text)
            if seen.insert(key).inserted { result.append(key) }
        }
        return result
    }
}
