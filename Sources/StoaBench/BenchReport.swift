import Foundation
import Histogram

/// The outcome of one `stoa bench` run, as printed in the table and written as JSON.
public struct BenchReport: Sendable, Codable, Equatable {
    /// Latency figures of successful requests, in microseconds.
    public struct Latency: Sendable, Codable, Equatable {
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var p999: UInt64
        public var max: UInt64
        public var mean: Double
    }

    /// The server's CPU and memory during the measured phase (when a pid was given).
    public struct Server: Sendable, Codable, Equatable {
        public var pid: Int32
        /// CPU seconds (user + system) the server spent during the measured phase.
        public var cpuSeconds: Double
        /// ``cpuSeconds`` divided by the requests answered, in microseconds.
        public var cpuMicrosPerRequest: Double
        /// The server's peak resident set size at the end of the run (VmHWM), in bytes.
        public var peakRSSBytes: Int

        public init(pid: Int32, cpuSeconds: Double, cpuMicrosPerRequest: Double, peakRSSBytes: Int) {
            self.pid = pid
            self.cpuSeconds = cpuSeconds
            self.cpuMicrosPerRequest = cpuMicrosPerRequest
            self.peakRSSBytes = peakRSSBytes
        }
    }

    /// `url` of the server, or `raw-sqlite:PATH`.
    public var target: String
    public var workload: BenchWorkload
    public var clients: Int
    /// Length of the measured phase, in seconds.
    public var durationSeconds: Double
    public var warmupSeconds: Double
    /// Successful requests in the measured phase.
    public var requests: Int
    /// Failed requests (non-2xx answers and transport errors) in the measured phase.
    public var errors: Int
    public var errorKinds: [String: Int]
    /// Successful requests per second.
    public var throughput: Double
    public var latencyMicros: Latency
    public var server: Server?

    public init(target: String, workload: BenchWorkload, clients: Int, warmupSeconds: Double, result: LoadGenerator.Result, server: Server?) {
        self.target = target
        self.workload = workload
        self.clients = clients
        self.durationSeconds = result.elapsedSeconds
        self.warmupSeconds = warmupSeconds
        self.requests = result.completed
        self.errors = result.errors
        self.errorKinds = result.errorKinds
        self.throughput = result.elapsedSeconds > 0 ? Double(result.completed) / result.elapsedSeconds : 0
        let histogram = result.histogram
        let empty = histogram.totalCount == 0
        self.latencyMicros = Latency(
            p50: empty ? 0 : histogram.valueAtPercentile(50), p90: empty ? 0 : histogram.valueAtPercentile(90),
            p99: empty ? 0 : histogram.valueAtPercentile(99), p999: empty ? 0 : histogram.valueAtPercentile(99.9),
            max: empty ? 0 : histogram.max, mean: empty ? 0 : histogram.mean
        )
        self.server = server
    }

    /// The report as pretty-printed JSON (keys sorted, so runs diff cleanly).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// A fixed-width table: one header line and one row.
    public var table: String {
        func ms(_ micros: UInt64) -> String { String(format: "%.2f", Double(micros) / 1000) }
        var header = ["workload", "clients", "seconds", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]
        var row = [
            workload.rawValue, String(clients), String(format: "%.1f", durationSeconds), String(requests), String(errors),
            String(format: "%.0f", throughput), ms(latencyMicros.p50), ms(latencyMicros.p90), ms(latencyMicros.p99),
            ms(latencyMicros.p999), ms(latencyMicros.max),
        ]
        if let server {
            header += ["CPU us/req", "peak RSS MiB"]
            row += [String(format: "%.0f", server.cpuMicrosPerRequest), String(format: "%.1f", Double(server.peakRSSBytes) / 1_048_576)]
        }
        let widths = zip(header, row).map { max($0.count, $1.count) }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { String(repeating: " ", count: $1 - $0.count) + $0 }.joined(separator: "  ")
        }
        var text = "target \(target)\n" + line(header) + "\n" + line(row)
        if !errorKinds.isEmpty {
            text += "\nerrors: " + errorKinds.sorted { $0.key < $1.key }.map { "\($0.key) x\($0.value)" }.joined(separator: ", ")
        }
        return text
    }
}
