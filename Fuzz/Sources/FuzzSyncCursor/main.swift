// Fuzz target: the `since` cursor of `GET /api/sync`.
//
// Input: one selector byte, then either the cursor text as a client sends it (selector even) or
// the JSON of a position, wrapped into a `v1.` cursor here (selector odd, so mutations reach the
// JSON inside the base64). A cursor that decodes must: encode back to the same position; go
// through the version-vector operations `StoaDatabase.syncPage` makes (merge, dominates, prefix)
// with their algebra intact; and page through the fixture store to the end (a bounded number of
// pages, each within the limit, only the owner's records, each cursor the server issues accepted).
import Foundation
import FuzzFixtures
import FuzzSupport
import StoaCore
@testable import StoaStore

let store = FuzzStore.store
let covered = store.versionVector()

FuzzDriver.run(seeds: CursorSeeds.all) { bytes in
    var input = FuzzInput(bytes)
    let selector = input.byte()
    let text = selector & 1 == 0 ? input.restText : CursorText.cursor(wrappingJSON: input.rest)
    guard let position = try? SyncCursor.decode(text) else { return }

    fuzzCheck((try? SyncCursor.decode(SyncCursor.encode(position))) == position, "a decoded position does not survive encode/decode")

    // The vector operations of syncPage, on every vector the cursor holds.
    for vector in [position.since] + (position.target.map { [$0] } ?? []) {
        let merged = vector.merged(covered)
        fuzzCheck(merged.dominates(vector) && merged.dominates(covered), "a merge does not dominate its inputs")
        fuzzCheck(merged == covered.merged(vector), "merge is not commutative")
        fuzzCheck(merged.merged(vector) == merged, "merge is not idempotent")
        fuzzCheck(vector.dominates(vector), "dominates is not reflexive")
        _ = covered.dominates(vector)
        for (origin, entry) in vector.entries {
            fuzzCheck(vector.contains(origin: origin, seq: entry.maximum) || entry.maximum == 0, "a vector lacks its own maximum")
            let prefix = vector.prefix(through: origin, seq: entry.maximum)
            fuzzCheck(vector.dominates(prefix), "a vector does not dominate its prefix")
            _ = covered.prefix(through: origin, seq: entry.contiguous)
        }
    }

    // Page through the store from the position, as a device would.
    let limit = Int(selector >> 1 & 3) + 1
    var next = position
    var seen = 0
    for _ in 0..<64 {
        let result = blocking { [next] in try await store.syncPage(owner: FuzzStore.owner, since: next, limit: limit) }
        guard case .success(let page) = result else {
            fatalError("syncPage failed for a cursor that decoded: \(result) (cursor \(SyncCursor.encode(next)))")
        }
        fuzzCheck(page.records.count + page.deleted.count <= limit, "a page holds more than its limit")
        fuzzCheck(page.records.allSatisfy { $0.text("userId") == FuzzStore.owner }, "a page holds another user's record")
        seen += page.records.count + page.deleted.count
        let issued = SyncCursor.encode(page.cursor)
        guard let decoded = try? SyncCursor.decode(issued) else { fatalError("the server issued a cursor it rejects: \(issued)") }
        fuzzCheck(decoded == page.cursor, "an issued cursor does not decode to its position")
        guard page.hasMore else { return }
        next = decoded
    }
    fatalError("paging did not end after 64 pages of at most \(limit) (\(seen) records sent)")
}
