import Foundation
import FuzzFixtures
import FuzzSupport
import StoaCore
import StoaStore

/// Seeds only the code can make: every cursor the fixture store issues while paging (with a
/// target and a last id, and the final ones), as text (selector 0) and as JSON (selector 1).
enum CursorSeeds {
    static func all() -> [(name: String, bytes: [UInt8])] {
        var seeds: [(name: String, bytes: [UInt8])] = [("empty", [0])]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for limit in [1, 3] {
            var position = SyncPosition()
            for page in 0..<16 {
                guard case .success(let result) = blocking({ [position] in try await FuzzStore.store.syncPage(owner: FuzzStore.owner, since: position, limit: limit) }) else { break }
                position = result.cursor
                seeds.append(("issued-\(limit)-\(page)", [0] + Array(SyncCursor.encode(position).utf8)))
                seeds.append(("json-\(limit)-\(page)", [1] + Array((try? encoder.encode(position)) ?? Data())))
                if !result.hasMore { break }
            }
        }
        return seeds
    }
}
