import Foundation
import Hummingbird
import HummingbirdTesting
@testable import StoaBench
import StoaCore
import StoaNode
import StoaStore
import Synchronization
import Testing

/// A target that answers at once: every `failEvery`-th call fails.
private struct CountingTarget: BenchTarget {
    let calls = Counter()
    let failEvery: Int

    func perform(_ operation: BenchOperation, client: Int, rng: inout SplitMix64) async -> BenchOutcome {
        let number = calls.increment()
        return number % failEvery == 0 ? .failure("synthetic") : .success
    }
}

private final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    /// Returns the new value.
    func increment() -> Int { value.wrappingAdd(1, ordering: .relaxed).newValue }
    var current: Int { value.load(ordering: .relaxed) }
}

@Suite struct LoadGeneratorTests {
    @Test func requestBudgetIsExactAndFailuresAreCounted() async throws {
        let target = CountingTarget(failEvery: 5)
        let generator = LoadGenerator(workload: .mixed, clients: 7, stop: .requests(500))
        let result = await generator.run(against: target)
        #expect(target.calls.current == 500)
        #expect(result.completed == 400)
        #expect(result.errors == 100)
        #expect(result.errorKinds == ["synthetic": 100])
        #expect(result.histogram.totalCount == 400)
    }

    @Test func mixedWorkloadDrawsEveryOperation() {
        var rng = SplitMix64(seed: 7)
        var seen: [BenchOperation: Int] = [:]
        for _ in 0..<1000 { seen[BenchWorkload.mixed.nextOperation(using: &rng), default: 0] += 1 }
        #expect(Set(seen.keys) == [.create, .get, .list(total: true)])
        #expect((seen[.get] ?? 0) > (seen[.create] ?? 0))
    }

    /// Runs the generator against a real node listening on loopback (in process): the node
    /// holds exactly the records the run created, and the JSON report has its documented shape.
    @Test func drivesARealNodeAndReportsJSON() async throws {
        let database = try StoaDatabase.inMemory(nodeName: "n1")
        let configuration = NodeConfiguration(name: "n1", dataDirectory: "/nonexistent", tokenSecret: "test-secret", bcryptCost: 4)
        let app = try await buildApplication(configuration: configuration, database: database)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            var target = try await RecordsAPITarget.connect(
                url: "http://127.0.0.1:\(port)", email: "bench@example.com", password: "benchpass123", clients: 4
            )
            do {
                try await target.seed(count: 20, concurrency: 4)
                #expect(target.seededIDs.count == 20)

                let creates = await LoadGenerator(workload: .create, clients: 4, stop: .requests(150)).run(against: target)
                #expect(creates.completed == 150)
                #expect(creates.errors == 0)

                let mixed = await LoadGenerator(workload: .mixed, clients: 4, stop: .requests(200), seed: 3).run(against: target)
                #expect(mixed.completed == 200, "errors: \(mixed.errorKinds)")
                #expect(mixed.histogram.totalCount == 200)

                let list = try await client.execute(
                    uri: "/api/collections/quotes/records?perPage=1", method: .get, headers: [.authorization: target.token]
                ) { response in
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any] ?? [:]
                }
                let total = try #require(list["totalItems"] as? Int)
                #expect(total >= 170 && total <= 170 + 200, "seed + creates + the mixed run's creates")

                let report = BenchReport(target: "node", workload: .mixed, clients: 4, warmupSeconds: 0, result: mixed, server: nil)
                let json = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
                #expect(json["workload"] as? String == "mixed")
                #expect(json["requests"] as? Int == 200)
                #expect(json["errors"] as? Int == 0)
                let latency = try #require(json["latencyMicros"] as? [String: Any])
                for key in ["p50", "p90", "p99", "p999", "max", "mean"] { #expect(latency[key] != nil, "latencyMicros.\(key)") }
                let p50 = try #require(latency["p50"] as? Int), p99 = try #require(latency["p99"] as? Int)
                #expect(p50 > 0 && p50 <= p99)
                #expect(report.table.contains("req/s"))
            } catch {
                try? await target.shutdown()
                throw error
            }
            try await target.shutdown()
        }
    }

    @Test func rawSQLiteInsertsAndReads() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("raw-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let target = try RawSQLiteTarget.open(path: path, synchronous: "NORMAL", seed: 50)
        let creates = await LoadGenerator(workload: .create, clients: 3, stop: .requests(120)).run(against: target)
        #expect(creates.completed == 120)
        #expect(try target.rowCount() == 170)
        let reads = await LoadGenerator(workload: .list, clients: 3, stop: .requests(60)).run(against: target)
        let gets = await LoadGenerator(workload: .get, clients: 3, stop: .requests(60)).run(against: target)
        #expect(reads.completed == 60 && gets.completed == 60)
        #expect(reads.errors == 0 && gets.errors == 0)
    }

    @Test func readsProcStatWithSpacesInTheName() throws {
        let stat = "1234 (my node (x)) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 4 0 100 1000000 2000"
        let seconds = try #require(ProcessUsage.cpuSeconds(stat: stat))
        #expect(abs(seconds - 300 / ProcessUsage.ticksPerSecond) < 1e-9)
        #expect(ProcessUsage.peakRSS(status: "Name:\tstoa\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\n") == 2048 * 1024)
        #if os(Linux)
        let own = try #require(ProcessUsage.read(pid: ProcessInfo.processInfo.processIdentifier))
        #expect(own.peakRSSBytes > 0)
        #endif
    }
}
