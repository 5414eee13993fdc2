/// The most rejected keys of one policy, in bounded memory: the Space-Saving algorithm
/// (Metwally, Agrawal, El Abbadi, "Efficient Computation of Frequent and Top-k Elements in Data
/// Streams", 2005). At most `capacity` keys are monitored; a new key replaces the least counted
/// one and inherits its count + 1, so a count is an upper bound on the key's rejections, exact
/// while the key has stayed monitored, and every key rejected more than total/capacity times is
/// monitored.
struct RateLimitTopKeys: Sendable {
    private(set) var keys: [String] = []
    private(set) var counts: [UInt64] = []
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
        keys.reserveCapacity(capacity)
        counts.reserveCapacity(capacity)
    }

    /// Counts one rejection of `key`; O(capacity).
    mutating func record(_ key: String) {
        if let position = keys.firstIndex(of: key) {
            counts[position] += 1
        } else if keys.count < capacity {
            keys.append(key)
            counts.append(1)
        } else {
            var smallest = 0
            for position in 1..<counts.count where counts[position] < counts[smallest] { smallest = position }
            keys[smallest] = key
            counts[smallest] += 1
        }
    }

    /// The `limit` most counted keys, most counted first (ties by key, for stable output).
    func top(_ limit: Int) -> [RateLimitStatistics.LimitedKey] {
        zip(keys, counts)
            .map { RateLimitStatistics.LimitedKey(key: $0.0, rejected: $0.1) }
            .sorted { ($0.rejected, $1.key) > ($1.rejected, $0.key) }
            .prefix(limit)
            .map { $0 }
    }
}
