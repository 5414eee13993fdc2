import Foundation
import StoaCore

/// Where a device is in its user's change feed: what it has (`since`), and, while a sync is
/// being paged, the vector the sync is bringing it up to (`target`) and the last record id sent.
///
/// A sync pages through the records changed in `target` but not in `since`, in id order, so each
/// record is sent once per sync however many changes it had; the last page's position is the
/// complete `since ∪ target`. Everything is version vectors, so a position from one node is valid
/// on every node.
public struct SyncPosition: Sendable, Equatable, Codable {
    public var since: VersionVector
    public var target: VersionVector?
    public var after: String?

    public init(since: VersionVector = VersionVector(), target: VersionVector? = nil, after: String? = nil) {
        self.since = since
        self.target = target
        self.after = after
    }

    private enum CodingKeys: String, CodingKey { case since = "s", target = "t", after = "a" }
}

/// The opaque cursor of `/api/sync`: a ``SyncPosition`` as text.
///
/// Text form: `v1.` followed by the position's JSON in unpadded base64url. Decoding checks the
/// form, the size and every entry, so a damaged or forged cursor is rejected rather than misread.
public enum SyncCursor {
    /// Longest cursor accepted (characters).
    public static let maxLength = 65_536
    static let prefix = "v1."

    public struct Invalid: Error, Equatable, Sendable {}

    public static func encode(_ position: SyncPosition) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = (try? encoder.encode(position)) ?? Data("{\"s\":{\"entries\":{}}}".utf8)
        return prefix + json.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The position of `text`; an empty or absent cursor is the start (a first sync).
    public static func decode(_ text: String?) throws(Invalid) -> SyncPosition {
        guard let text, !text.isEmpty else { return SyncPosition() }
        guard text.count <= maxLength, text.hasPrefix(prefix) else { throw Invalid() }
        var body = String(text.dropFirst(prefix.count))
        guard body.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { throw Invalid() }
        body = body.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        body += String(repeating: "=", count: (4 - body.count % 4) % 4)
        guard let data = Data(base64Encoded: body),
              let position = try? JSONDecoder().decode(SyncPosition.self, from: data),
              (position.target == nil) == (position.after == nil),
              position.after.map(RecordID.isValid) ?? true,
              ([position.since] + (position.target.map { [$0] } ?? [])).allSatisfy(isWellFormed)
        else { throw Invalid() }
        return position
    }

    /// Every origin a plausible name and every number a valid sequence number in canonical form
    /// (``VersionVector/isWellFormed``), so nothing computed from the cursor can overflow.
    static func isWellFormed(_ vector: VersionVector) -> Bool {
        vector.isWellFormed && vector.entries.keys.allSatisfy { !$0.isEmpty && $0.utf8.count <= 256 }
    }
}
