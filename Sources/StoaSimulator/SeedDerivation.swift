import StoaCore

/// Derives independent random generators from one run seed, one per purpose (`"network n1>n2"`,
/// `"node n3"`, `"workload"`, ...).
///
/// Every purpose gets its own ``SplitMix64`` stream seeded by mixing the run seed with the
/// FNV-1a hash of the purpose's name, so drawing more numbers for one purpose — or adding a
/// node, which adds purposes — leaves the other streams untouched.
public enum SeedDerivation {
    /// The generator for `purpose` in the run with seed `seed`.
    public static func generator(seed: UInt64, purpose: String) -> SplitMix64 {
        var mixer = SplitMix64(seed: seed ^ FNV1a.hash(purpose))
        // One step of SplitMix64 decorrelates seeds that differ in few bits.
        return SplitMix64(seed: mixer.next())
    }
}
