import Foundation
import StoaCore

/// The opaque cursor of `/api/sync`: a version vector, so it means the same on every node.
///
/// Text form: `v1.` followed by the vector's JSON in unpadded base64url. Decoding checks the form,
/// the size and every entry, so a damaged or forged cursor is rejected rather than misread.
public enum SyncCursor {
    /// Longest cursor accepted (characters).
    public static let maxLength = 65_536
    static let prefix = "v1."

    public struct Invalid: Error, Equatable, Sendable {}

    public static func encode(_ vector: VersionVector) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = (try? encoder.encode(vector)) ?? Data("{\"entries\":{}}".utf8)
        return prefix + json.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The vector of `text`; an empty or absent cursor is the empty vector (a first sync).
    public static func decode(_ text: String?) throws(Invalid) -> VersionVector {
        guard let text, !text.isEmpty else { return VersionVector() }
        guard text.count <= maxLength, text.hasPrefix(prefix) else { throw Invalid() }
        var body = String(text.dropFirst(prefix.count))
        guard body.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { throw Invalid() }
        body = body.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        body += String(repeating: "=", count: (4 - body.count % 4) % 4)
        guard let data = Data(base64Encoded: body),
              let vector = try? JSONDecoder().decode(VersionVector.self, from: data),
              vector.entries.allSatisfy({ origin, entry in
                  !origin.isEmpty && origin.utf8.count <= 256 && entry.extra.allSatisfy { $0 > entry.contiguous + 1 }
              })
        else { throw Invalid() }
        return vector
    }
}
