import StoaCore

/// Something a load generator drives: the Records API of a server, or SQLite directly.
///
/// `perform` MUST be safe to call from many tasks at once and MUST NOT throw for a failed
/// request: it reports the failure as a ``BenchOutcome/failure(_:)`` so the run goes on and
/// counts it.
public protocol BenchTarget: Sendable {
    /// Carries out one operation for client number `client` (`rng` is that client's own).
    func perform(_ operation: BenchOperation, client: Int, rng: inout SplitMix64) async -> BenchOutcome
}

/// The result of one request.
public enum BenchOutcome: Sendable, Equatable {
    case success
    /// A failed request; `kind` groups failures in the report (e.g. `"status 404"`).
    case failure(_ kind: String)
}
