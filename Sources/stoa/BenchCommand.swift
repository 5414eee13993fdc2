import ArgumentParser
import Foundation
import StoaBench

/// `stoa bench`: a load generator for PocketBase's Records API (drives Stoa and PocketBase
/// alike), or with `--raw-sqlite` the same operations straight on SQLite through GRDB.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Load-test a PocketBase Records API (Stoa or PocketBase), or raw SQLite.",
        discussion: """
            Closed loop: each client sends its next request when the previous one is answered. Latencies of \
            successful requests go into an HdrHistogram. A progress line goes to stderr once a second; the \
            table (or JSON) goes to stdout. With --server-pid, the server's CPU time per request and its peak \
            RSS (VmHWM) are read from /proc.
            """
    )

    @Option(help: "Base URL of the server.")
    var url = "http://127.0.0.1:8090"

    @Option(help: "create, get, list (30 with totals), list-nototal, mixed (20% create, 60% get, 20% list), or edit (PATCH the seeded quotes in turn).")
    var workload: BenchWorkload = .create

    @Option(help: "Concurrent clients (connections).")
    var clients = 16

    @Option(help: "Seconds of the measured phase (ignored with --requests).")
    var duration: Double = 10

    @Option(help: "Stop after this many requests instead of after --duration.")
    var requests: Int?

    @Option(help: "Seconds of unrecorded load before the measured phase.")
    var warmup: Double = 2

    @Option(help: "Quotes to create before a get, list, mixed or edit run.")
    var seed = 1000

    @Option(help: "Account to sign up (if new) and log in as.")
    var email = "bench@example.com"

    @Option(help: "Password of that account.")
    var password = "benchpass123"

    @Option(help: "pid of the server, to report its CPU per request and peak RSS.")
    var serverPid: Int32?

    @Option(help: "Also write the JSON report to this file.")
    var json: String?

    @Option(help: "table or json (what goes to stdout).")
    var format: OutputFormat = .table

    @Option(help: "Benchmark SQLite directly through GRDB on a fresh database file at this path (no server).")
    var rawSqlite: String?

    @Option(help: "With --raw-sqlite: normal (synchronous=NORMAL) or full (synchronous=FULL), as `stoa node --durability`.")
    var durability: RawDurability = .normal

    @Flag(help: "No progress line.")
    var quiet = false

    enum OutputFormat: String, ExpressibleByArgument { case table, json }
    enum RawDurability: String, ExpressibleByArgument { case normal, full }

    func validate() throws {
        guard clients >= 1, clients <= 4096 else { throw ValidationError("--clients must be in 1...4096") }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        if let requests, requests < 1 { throw ValidationError("--requests must be at least 1") }
        guard seed >= 1 || !workload.needsSeed else { throw ValidationError("--seed must be at least 1 for \(workload.rawValue)") }
    }

    func run() async throws {
        let generator = LoadGenerator(
            workload: workload, clients: clients, stop: requests.map { .requests($0) } ?? .duration(seconds: duration), warmupSeconds: warmup
        )
        let report: BenchReport
        if let rawSqlite {
            let target = try RawSQLiteTarget.open(path: rawSqlite, synchronous: durability.rawValue.uppercased(), seed: seed)
            report = try await measure(generator, target, name: "raw-sqlite:\(rawSqlite) synchronous=\(durability.rawValue.uppercased())",
                                       pid: ProcessInfo.processInfo.processIdentifier)
        } else {
            var target = try await RecordsAPITarget.connect(url: url, email: email, password: password, clients: clients)
            do {
                if workload.needsSeed {
                    progressLine("seeding \(seed) quotes...")
                    try await target.seed(count: seed, concurrency: clients)
                }
                report = try await measure(generator, target, name: url, pid: serverPid)
                try await target.shutdown()
            } catch {
                try? await target.shutdown()
                throw error
            }
        }
        let data = try report.json()
        if let json { try data.write(to: URL(fileURLWithPath: json)) }
        switch format {
        case .table: print(report.table)
        case .json: print(String(decoding: data, as: UTF8.self))
        }
        if report.requests == 0 { throw ExitCode(1) }
    }

    private func measure(_ generator: LoadGenerator, _ target: some BenchTarget, name: String, pid: Int32?) async throws -> BenchReport {
        if warmup > 0 { progressLine("warming up \(warmup)s...") }
        await generator.warmUp(against: target)
        let before = pid.flatMap(ProcessUsage.read(pid:))
        let quiet = self.quiet
        let result = await generator.measure(against: target) { progress in
            guard !quiet else { return }
            let line = String(
                format: "[%5.1fs] %d requests, %.0f req/s now, %d errors", progress.elapsedSeconds, progress.completed,
                progress.recentRate, progress.errors
            )
            FileHandle.standardError.write(Data(("\r" + line + "   ").utf8))
        }
        if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
        var server: BenchReport.Server?
        if let pid, let after = ProcessUsage.read(pid: pid) {
            let cpu = after.cpuSeconds - (before?.cpuSeconds ?? 0)
            server = BenchReport.Server(
                pid: pid, cpuSeconds: cpu, cpuMicrosPerRequest: result.completed > 0 ? cpu / Double(result.completed) * 1e6 : 0,
                peakRSSBytes: after.peakRSSBytes
            )
        }
        return BenchReport(target: name, workload: workload, clients: clients, warmupSeconds: warmup, result: result, server: server)
    }

    private func progressLine(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

extension BenchWorkload: ExpressibleByArgument {}
