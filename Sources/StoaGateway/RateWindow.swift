/// Events per second over the last few whole seconds, in one-second buckets.
struct RateWindow: Sendable {
    static let seconds = 5
    private var buckets = [Int](repeating: 0, count: RateWindow.seconds + 1)
    private var bucketSecond = [UInt64](repeating: 0, count: RateWindow.seconds + 1)

    mutating func record(now: UInt64, count: Int = 1) {
        let second = now / 1_000_000_000
        let index = Int(second % UInt64(buckets.count))
        if bucketSecond[index] != second {
            bucketSecond[index] = second
            buckets[index] = 0
        }
        buckets[index] += count
    }

    /// The mean rate over the last ``seconds`` complete seconds before `now`.
    func perSecond(now: UInt64) -> Double {
        let second = now / 1_000_000_000
        var total = 0
        for (index, bucket) in buckets.enumerated() where bucketSecond[index] < second && bucketSecond[index] + UInt64(Self.seconds) >= second {
            total += bucket
        }
        return Double(total) / Double(Self.seconds)
    }
}

/// The latest request latencies (a ring of the last 1024), for p50/p99 on the dashboard.
struct LatencyWindow: Sendable {
    private var samples: [UInt64] = []
    private var next = 0
    static let capacity = 1024

    mutating func record(nanos: UInt64) {
        if samples.count < Self.capacity {
            samples.append(nanos)
        } else {
            samples[next] = nanos
            next = (next + 1) % Self.capacity
        }
    }

    /// The `quantile` (0...1) in milliseconds, nil without samples.
    func percentile(_ quantile: Double) -> Double? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let index = min(sorted.count - 1, Int((quantile * Double(sorted.count)).rounded(.up)) - 1)
        return Double(sorted[max(0, index)]) / 1_000_000
    }
}
