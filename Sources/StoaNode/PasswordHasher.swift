import HummingbirdBcrypt
import Metrics
import NIOPosix
import Synchronization

/// Hashes and checks passwords with bcrypt (a deliberately slow KDF), off the request threads.
public struct PasswordHasher: Sendable {
    /// bcrypt cost factor: 2^cost rounds. PocketBase uses 10 ... 12; tests may lower it.
    public let cost: UInt8

    /// A hash of a random string, checked against when an email is unknown so that the answer
    /// takes as long as for a known one.
    public let decoyHash: String

    /// Hashes and checks at most this many at a time, running or waiting for a thread: one
    /// more is refused at once (429), so a flood of logins or sign-ups cannot queue unbounded
    /// work or hold every core.
    public let maxPending: Int
    private let pending: PendingCount

    public static let defaultMaxPending = 32

    public init(cost: UInt8 = 10, maxPending: Int = PasswordHasher.defaultMaxPending) {
        self.cost = cost
        self.maxPending = max(1, maxPending)
        self.pending = PendingCount()
        var rng = SystemRandomNumberGenerator()
        decoyHash = Bcrypt.hash(String(rng.next(), radix: 36), cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await bounded { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        guard !hash.isEmpty else { return false }
        return try await bounded { Bcrypt.verify(password, hash: hash) }
    }

    /// Runs `work` on the thread pool unless ``maxPending`` are pending already.
    ///
    /// - Throws: ``PBError`` 429 when the bound is reached.
    private func bounded<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        guard pending.enter(limit: maxPending) else {
            Counter(label: "stoa_auth_refused_total", dimensions: [("reason", "kdf_busy")]).increment()
            throw PBError(.tooManyRequests, "Too Many Requests.")
        }
        defer { pending.leave() }
        return try await NIOThreadPool.singleton.runIfActive(work)
    }
}

/// Password work pending on the thread pool, shared by every copy of a ``PasswordHasher``.
final class PendingCount: Sendable {
    private let count = Mutex(0)

    func enter(limit: Int) -> Bool {
        count.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() { count.withLock { $0 -= 1 } }
}
