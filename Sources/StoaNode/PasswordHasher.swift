import HummingbirdBcrypt
import NIOPosix

/// Hashes and checks passwords with bcrypt (a deliberately slow KDF), off the request threads.
public struct PasswordHasher: Sendable {
    /// bcrypt cost factor: 2^cost rounds. PocketBase uses 10 ... 12; tests may lower it.
    public let cost: UInt8

    /// A hash of a random string, checked against when an email is unknown so that the answer
    /// takes as long as for a known one.
    public let decoyHash: String

    public init(cost: UInt8 = 10) {
        self.cost = cost
        var rng = SystemRandomNumberGenerator()
        decoyHash = Bcrypt.hash(String(rng.next(), radix: 36), cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        guard !hash.isEmpty else { return false }
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
