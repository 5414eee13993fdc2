import Foundation

/// Builds cursors from raw JSON, as `SyncCursor.encode` writes them, so the fuzzer reaches the
/// checks behind the base64 layer.
enum CursorText {
    /// `v1.` and the unpadded base64url of `json`.
    static func cursor(wrappingJSON json: ArraySlice<UInt8>) -> String {
        "v1." + Data(json).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
