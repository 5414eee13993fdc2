/// The outcome of one run of one scenario with one seed.
public struct SimulationResult: Sendable {
    public var scenario: String
    public var seed: UInt64
    /// Empty when every invariant held.
    public var violations: [String]
    /// FNV-1a over the trace lines; equal for equal (scenario, seed).
    public var traceHash: String
    public var traceLines: Int
    /// The lines, when ``SimulationOptions/keepTrace`` was set.
    public var trace: [String]?
    /// True time the run covered, in milliseconds.
    public var simulatedMillis: UInt64
    /// From the quiet point until replicas converged (and membership agreed), or `nil`.
    public var convergenceMillis: UInt64?
    public var network: NetworkStatistics
    public var writesAcknowledged: Int
    public var writesRefused: Int
    public var writesUnavailable: Int
    public var driftRejections: Int
    public var events: Int

    public var passed: Bool { violations.isEmpty }
}
