import Foundation
import StoaCore
import StoaStore

/// Input shapes of bugs already known and being fixed elsewhere, skipped so the fuzzer runs past
/// them instead of stopping at the first one every time.
///
/// - Issue 18 item 1: a cursor whose vector holds a number above `Int64.max` traps in
///   `SyncCursor.isWellFormed` (`contiguous + 1` when `contiguous` is `UInt64.max`), in
///   `VersionVector.merge` and in `syncPage`'s `Int64(...)` conversion. The fix on main rejects
///   such cursors (`VersionVector.maxSeq`); once it is merged this screen skips nothing that
///   decodes, and SHOULD be deleted. The regression test is
///   `SyncCursorFuzzRegressionTests` in StoaStoreTests.
enum CursorKnownIssues {
    static let maxSeq = UInt64(Int64.max)

    /// `v1.` and the unpadded base64url of `json`: a cursor as `SyncCursor.encode` writes one.
    static func cursor(wrappingJSON json: ArraySlice<UInt8>) -> String {
        "v1." + Data(json).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// True when `text` decodes (as `SyncCursor.decode` reads it, before its checks) to a position
    /// holding a number above `Int64.max`.
    static func hasNumberAboveInt64(_ text: String) -> Bool {
        guard text.hasPrefix("v1.") else { return false }
        var body = String(text.dropFirst(3)).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        body += String(repeating: "=", count: (4 - body.count % 4) % 4)
        guard let data = Data(base64Encoded: body), let position = try? JSONDecoder().decode(SyncPosition.self, from: data) else {
            return false
        }
        return ([position.since] + (position.target.map { [$0] } ?? [])).contains { vector in
            vector.entries.values.contains { $0.contiguous > maxSeq || $0.extra.contains { $0 > maxSeq } }
        }
    }
}
