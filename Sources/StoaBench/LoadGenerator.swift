import Histogram
import StoaCore
import Synchronization

/// Runs a workload against a ``BenchTarget`` with a fixed number of concurrent clients (closed
/// loop: each client sends its next request when the previous one is answered) and records the
/// latency of every successful request in an HdrHistogram (microseconds).
///
/// A run is an optional warm-up (same load, not recorded) followed by the measured phase, which
/// ends after ``Stop/duration(seconds:)`` or once ``Stop/requests(_:)`` requests were sent.
public struct LoadGenerator: Sendable {
    /// When the measured phase ends.
    public enum Stop: Sendable, Equatable {
        case duration(seconds: Double)
        case requests(Int)
    }

    /// Counters during the measured phase, handed to the progress callback once a second.
    public struct Progress: Sendable {
        public var elapsedSeconds: Double
        public var completed: Int
        public var errors: Int
        /// Requests completed in the last interval, per second.
        public var recentRate: Double
    }

    public var workload: BenchWorkload
    public var clients: Int
    public var stop: Stop
    public var warmupSeconds: Double
    public var seed: UInt64

    public init(workload: BenchWorkload, clients: Int, stop: Stop, warmupSeconds: Double = 0, seed: UInt64 = 1) {
        precondition(clients >= 1, "at least one client")
        self.workload = workload
        self.clients = clients
        self.stop = stop
        self.warmupSeconds = warmupSeconds
        self.seed = seed
    }

    /// What the measured phase produced.
    public struct Result: Sendable {
        public var histogram: Histogram<UInt64>
        public var completed: Int
        public var errors: Int
        public var errorKinds: [String: Int]
        public var elapsedSeconds: Double
    }

    /// Runs the warm-up and the measured phase; `progress` is called about once a second during
    /// the measured phase.
    public func run(against target: some BenchTarget, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async -> Result {
        await warmUp(against: target)
        return await measure(against: target, progress: progress)
    }

    /// The warm-up alone: ``warmupSeconds`` of the same load, not recorded.
    public func warmUp(against target: some BenchTarget) async {
        guard warmupSeconds > 0 else { return }
        _ = await phase(target, stop: .duration(seconds: warmupSeconds), seedOffset: 1_000_003, progress: nil)
    }

    /// The measured phase alone.
    public func measure(against target: some BenchTarget, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async -> Result {
        await phase(target, stop: stop, seedOffset: 0, progress: progress)
    }

    private struct ClientTally: Sendable {
        var histogram = LoadGenerator.newHistogram()
        var completed = 0
        var errors = 0
        var errorKinds: [String: Int] = [:]
    }

    /// Counters shared by the client tasks of one phase.
    private final class Counters: Sendable {
        let tickets = Atomic<Int>(0)
        let completed = Atomic<Int>(0)
        let errors = Atomic<Int>(0)
    }

    static func newHistogram() -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
        return histogram
    }

    private func phase(_ target: some BenchTarget, stop: Stop, seedOffset: UInt64, progress: (@Sendable (Progress) -> Void)?) async -> Result {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline: ContinuousClock.Instant? = if case .duration(let seconds) = stop { started + .seconds(seconds) } else { nil }
        let budget: Int? = if case .requests(let count) = stop { count } else { nil }
        let counters = Counters()
        let workload = self.workload
        let seed = self.seed &+ seedOffset

        return await withTaskGroup(of: ClientTally?.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var rng = SplitMix64(seed: seed &+ UInt64(client) &* 0x9E37_79B9)
                    var tally = ClientTally()
                    while true {
                        if let deadline, clock.now >= deadline { break }
                        if let budget, counters.tickets.wrappingAdd(1, ordering: .relaxed).oldValue >= budget { break }
                        let operation = workload.nextOperation(using: &rng)
                        let sent = clock.now
                        let outcome = await target.perform(operation, client: client, rng: &rng)
                        switch outcome {
                        case .success:
                            tally.histogram.record(Self.micros(sent.duration(to: clock.now)))
                            tally.completed += 1
                            counters.completed.wrappingAdd(1, ordering: .relaxed)
                        case .failure(let kind):
                            tally.errors += 1
                            tally.errorKinds[kind, default: 0] += 1
                            counters.errors.wrappingAdd(1, ordering: .relaxed)
                        }
                    }
                    return tally
                }
            }
            if let progress {
                group.addTask {
                    var lastCount = 0
                    var lastTime = started
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        if Task.isCancelled { break }
                        let now = clock.now
                        let done = counters.completed.load(ordering: .relaxed)
                        let interval = Self.seconds(lastTime.duration(to: now))
                        progress(Progress(
                            elapsedSeconds: Self.seconds(started.duration(to: now)), completed: done,
                            errors: counters.errors.load(ordering: .relaxed), recentRate: interval > 0 ? Double(done - lastCount) / interval : 0
                        ))
                        lastCount = done
                        lastTime = now
                    }
                    return nil
                }
            }
            var result = Result(histogram: Self.newHistogram(), completed: 0, errors: 0, errorKinds: [:], elapsedSeconds: 0)
            var finishedClients = 0
            while let tally = await group.next() {
                guard let tally else { continue }
                result.histogram.add(tally.histogram)
                result.completed += tally.completed
                result.errors += tally.errors
                result.errorKinds.merge(tally.errorKinds, uniquingKeysWith: +)
                finishedClients += 1
                if finishedClients == clients {
                    result.elapsedSeconds = Self.seconds(started.duration(to: clock.now))
                    group.cancelAll()
                }
            }
            return result
        }
    }

    static func micros(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000_000
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
