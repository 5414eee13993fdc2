import Synchronization
import Testing
@testable import StoaGateway

/// Holds fetches until the test opens it, so callers provably overlap.
private actor Gate {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func open() {
        isOpen = true
        for continuation in waiting { continuation.resume() }
        waiting.removeAll()
    }
}

/// Counts fetches across tasks.
private final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

private struct UpstreamDown: Error, Equatable {}

/// Yields until `condition` holds; bounded by a count of yields, not by time.
private func eventually(_ condition: () async -> Bool) async -> Bool {
    for _ in 0..<100_000 {
        if await condition() { return true }
        await Task.yield()
    }
    return false
}

@Suite("Request coalescer")
struct RequestCoalescerTests {
    @Test("N concurrent runs of one key call fetch once and all get its value")
    func coalesces() async throws {
        let coalescer = RequestCoalescer<String, Int>()
        let fetches = Counter()
        let gate = Gate()
        let callers = 20
        let results = try await withThrowingTaskGroup(of: (value: Int, coalesced: Bool).self) { group in
            for _ in 0..<callers {
                group.addTask {
                    try await coalescer.run("list") {
                        fetches.increment()
                        await gate.wait()
                        return 42
                    }
                }
            }
            #expect(await eventually { await coalescer.waiting(for: "list") == callers - 1 })
            await gate.open()
            var results: [(value: Int, coalesced: Bool)] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(fetches.count == 1)
        #expect(results.count == callers && results.allSatisfy { $0.value == 42 })
        #expect(results.filter(\.coalesced).count == callers - 1)
        #expect(await coalescer.inFlight == 0)
        // Nothing is kept: the next run fetches again.
        let again = try await coalescer.run("list") { 43 }
        #expect(again.value == 43 && !again.coalesced)
    }

    @Test("an error of the fetch reaches every waiter")
    func errorsPropagate() async {
        let coalescer = RequestCoalescer<String, Int>()
        let fetches = Counter()
        let gate = Gate()
        let callers = 10
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    do {
                        _ = try await coalescer.run("view") {
                            fetches.increment()
                            await gate.wait()
                            throw UpstreamDown()
                        }
                        return false
                    } catch {
                        return error is UpstreamDown
                    }
                }
            }
            #expect(await eventually { await coalescer.waiting(for: "view") == callers - 1 })
            await gate.open()
            var failures = 0
            for await failed in group where failed { failures += 1 }
            return failures
        }
        #expect(failures == callers)
        #expect(fetches.count == 1)
        #expect(await coalescer.inFlight == 0)
    }

    @Test("different keys fetch separately and concurrently")
    func keysAreSeparate() async throws {
        let coalescer = RequestCoalescer<String, String>()
        let fetches = Counter()
        let gate = Gate()
        let keys = ["a", "b", "c"]
        let results = try await withThrowingTaskGroup(of: (String, String, Bool).self) { group in
            for key in keys {
                for _ in 0..<3 {
                    group.addTask {
                        let result = try await coalescer.run(key) {
                            fetches.increment()
                            await gate.wait()
                            return "value of \(key)"
                        }
                        return (key, result.value, result.coalesced)
                    }
                }
            }
            // All three fetches are in flight at once: one key does not wait for another.
            #expect(await eventually {
                guard await coalescer.inFlight == 3 else { return false }
                for key in keys {
                    if await coalescer.waiting(for: key) != 2 { return false }
                }
                return true
            })
            #expect(fetches.count == 3)
            await gate.open()
            var results: [(String, String, Bool)] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(fetches.count == 3)
        #expect(results.allSatisfy { $0.1 == "value of \($0.0)" })
        #expect(results.filter { !$0.2 }.count == 3)
    }
}
