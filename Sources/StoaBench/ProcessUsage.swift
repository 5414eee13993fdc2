#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// CPU time and peak memory of a process, read from Linux's `/proc/PID/stat` and
/// `/proc/PID/status`. On other systems (or for a process that is gone) the values are nil.
public struct ProcessUsage: Sendable, Codable, Equatable {
    /// User + system CPU seconds consumed so far.
    public var cpuSeconds: Double
    /// Peak resident set size so far (`VmHWM`), in bytes.
    public var peakRSSBytes: Int

    /// Reads the usage of process `pid` now.
    public static func read(pid: Int32) -> ProcessUsage? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let cpu = cpuSeconds(stat: stat), let peak = peakRSS(status: status)
        else { return nil }
        return ProcessUsage(cpuSeconds: cpu, peakRSSBytes: peak)
    }

    /// utime + stime (fields 14 and 15, counted after the parenthesized command name, which may
    /// itself hold spaces), in clock ticks turned into seconds.
    static func cpuSeconds(stat: String) -> Double? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticksPerSecond
    }

    static func peakRSS(status: String) -> Int? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kilobytes = Int(parts[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    static let ticksPerSecond: Double = {
        #if canImport(Glibc)
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
        #else
        return 100
        #endif
    }()
}
