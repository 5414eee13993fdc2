import StoaCore
import StoaGossip

/// Input shapes of bugs already known and being fixed elsewhere, skipped so the fuzzer runs past
/// them instead of stopping at the first one every time.
///
/// - Issue 18 item 1, from a peer: `WireCodec.decode` accepts any version vector entry. One
///   holding a number above `Int64.max` overflows in `VersionVector.merge` (`contiguous + 1`)
///   and in the store's `Int64(...)` conversions; one not in canonical form (an extra number at
///   or below `contiguous + 1`, found by this target in its first minute) makes merge depend on
///   the order of its operands. A change's sequence number above `Int64.max` traps in the store.
///   The fix on main makes the decoder reject both (`VersionVector.Entry.isWellFormed`,
///   `VersionVector.maxSeq`); once it is merged this screen skips nothing that decodes, and
///   SHOULD be deleted.
enum WireKnownIssues {
    static let maxSeq = UInt64(Int64.max)

    static func isKnownIssue(_ message: WireMessage) -> Bool {
        switch message {
        case .swim: return false
        case .vector(_, let vector): return !isWellFormed(vector)
        case .changes(_, let changes, let vector):
            return changes.contains { $0.seq > maxSeq } || !(vector.map(isWellFormed) ?? true)
        }
    }

    /// The rule of the fix on main: every number at most `Int64.max`, every extra number above
    /// `contiguous + 1`.
    static func isWellFormed(_ vector: VersionVector) -> Bool {
        vector.entries.values.allSatisfy { entry in
            entry.contiguous <= maxSeq && entry.extra.allSatisfy { $0 <= maxSeq && $0 > entry.contiguous && $0 - entry.contiguous > 1 }
        }
    }
}
