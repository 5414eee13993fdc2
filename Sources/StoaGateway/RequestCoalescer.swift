/// Concurrent misses on one key make one upstream request: the first caller runs `fetch`, the
/// callers that arrive while it runs await its result (value or error) instead of fetching.
/// Nothing is kept after the fetch finishes: the next caller fetches again (caching is
/// `ResponseCache`'s job).
///
/// The fetch runs in the first caller's task, so cancelling that task cancels the fetch for
/// everyone waiting on it (they receive its error); a waiter that is cancelled keeps waiting for
/// the result, which the upstream timeout bounds.
public actor RequestCoalescer<Key: Hashable & Sendable, Value: Sendable> {
    private var waiters: [Key: [CheckedContinuation<Value, any Error>]] = [:]

    public init() {}

    /// The value of `fetch` for `key`, and whether it came from another caller's fetch.
    public func run(_ key: Key, _ fetch: @Sendable () async throws -> Value) async throws -> (value: Value, coalesced: Bool) {
        if waiters[key] != nil {
            let value = try await withCheckedThrowingContinuation { continuation in
                waiters[key, default: []].append(continuation)
            }
            return (value, true)
        }
        waiters[key] = []
        let result: Result<Value, any Error>
        do {
            result = .success(try await fetch())
        } catch {
            result = .failure(error)
        }
        for waiter in waiters.removeValue(forKey: key) ?? [] {
            waiter.resume(with: result)
        }
        return (try result.get(), false)
    }

    /// Keys with a fetch in flight.
    public var inFlight: Int { waiters.count }

    /// Callers waiting for the fetch of `key` (not counting the one running it).
    public func waiting(for key: Key) -> Int { waiters[key]?.count ?? 0 }
}
