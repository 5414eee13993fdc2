/// The most rejected keys of one policy, in bounded memory: the Space-Saving algorithm
/// (Metwally, Agrawal, El Abbadi, "Efficient Computation of Frequent and Top-k Elements in Data
/// Streams", 2005). At most `capacity` keys are monitored; a new key replaces the least counted
/// one and inherits its count + 1, remembering the inherited part as its possible error. So
/// count − error is a lower bound on a key's rejections (exact for a key monitored since its
/// first rejection), count an upper bound, and every key rejected more than total/capacity
/// times is monitored. Keys are ranked and reported by the lower bound, so keys that merely
/// inherited a large count do not crowd out real heavy hitters.
struct RateLimitTopKeys: Sendable {
    private(set) var keys: [String] = []
    private(set) var counts: [UInt64] = []
    private(set) var errors: [UInt64] = []
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
        keys.reserveCapacity(capacity)
        counts.reserveCapacity(capacity)
        errors.reserveCapacity(capacity)
    }

    /// Counts one rejection of `key`; O(capacity).
    mutating func record(_ key: String) {
        if let position = keys.firstIndex(of: key) {
            counts[position] += 1
        } else if keys.count < capacity {
            keys.append(key)
            counts.append(1)
            errors.append(0)
        } else {
            var smallest = 0
            for position in 1..<counts.count where counts[position] < counts[smallest] { smallest = position }
            keys[smallest] = key
            errors[smallest] = counts[smallest]
            counts[smallest] += 1
        }
    }

    /// The `limit` keys with the most certain rejections (count − error), most first, ties by key.
    func top(_ limit: Int) -> [RateLimitStatistics.LimitedKey] {
        keys.indices
            .map { RateLimitStatistics.LimitedKey(key: keys[$0], rejected: counts[$0] - errors[$0]) }
            .sorted { ($0.rejected, $1.key) > ($1.rejected, $0.key) }
            .prefix(limit)
            .map { $0 }
    }
}
