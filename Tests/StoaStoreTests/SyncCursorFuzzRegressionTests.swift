import Testing
@testable import StoaStore

/// Inputs `Fuzz/Sources/FuzzSyncCursor` found, kept so the bugs they showed stay fixed. See
/// README, "Fuzzing".
@Suite("Sync cursor: fuzzing regressions")
struct SyncCursorFuzzRegressionTests {
    /// Issue 18 item 1, found again by the fuzzer with its known-issue screen off
    /// (`STOA_FUZZ_INCLUDE_KNOWN=1`, after about 1.3 million inputs): a cursor whose contiguous
    /// mark is above `Int64.max` decoded, and `syncPage` trapped converting it to `Int64`. The
    /// fix on main rejects it at decoding (`VersionVector.maxSeq`); this test fails on a branch
    /// without that fix. (The issue's own cursor, `c` = 2^64-1 with an extra number, is not used
    /// here: without the fix it traps in `decode` itself and would stop the test run.)
    @Test("a cursor holding a number above Int64.max is rejected")
    func numberAboveInt64() {
        // {"s":{"entries":{"peer":{"c":9223732036838711549,"x":[]}}}}
        let found = "v1.eyJzIjp7ImVudHJpZXMiOnsicGVlciI6eyJjIjo5MjIzNzMyMDM2ODM4NzExNTQ5LCJ4IjpbXX19fX0"
        #expect(throws: SyncCursor.Invalid.self) { try SyncCursor.decode(found) }
    }
}
