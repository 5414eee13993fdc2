import Foundation

/// A `tcpdump` capture of loopback traffic to and from some ports (TCP and UDP), written to a
/// pcap file. ``start(ports:file:)`` throws ``Unavailable`` with the reason when tcpdump is
/// missing or cannot capture here (no permission); always ``stop()`` it.
final class PacketCapture: @unchecked Sendable {
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    let file: URL
    private let process = Process()
    private let pipe = Pipe()
    private var log = Data()
    private let lock = NSLock()

    private init(file: URL) { self.file = file }

    static var executable: URL? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/sbin"]
        return paths.map { URL(fileURLWithPath: $0).appendingPathComponent("tcpdump") }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Starts capturing on `lo` and returns once tcpdump says it is listening (at most 10 s).
    static func start(ports: [Int], file: URL) throws -> PacketCapture {
        guard let executable else { throw Unavailable(description: "tcpdump is not installed (scripts/test.sh installs it)") }
        let capture = PacketCapture(file: file)
        let filter = "(tcp or udp) and (" + ports.map { "port \($0)" }.joined(separator: " or ") + ")"
        capture.process.executableURL = executable
        // -U: each packet is written at once; -Z root: as root, keep writing where root can.
        capture.process.arguments = ["-i", "lo", "-n", "-U", "-s", "0", "-w", file.path] + (getuid() == 0 ? ["-Z", "root"] : []) + [filter]
        capture.process.standardError = capture.pipe
        capture.process.standardOutput = capture.pipe
        capture.pipe.fileHandleForReading.readabilityHandler = { [weak capture] handle in
            let chunk = handle.availableData
            guard let capture, !chunk.isEmpty else { return }
            capture.lock.withLock { capture.log.append(chunk) }
        }
        do { try capture.process.run() } catch { throw Unavailable(description: "tcpdump did not start: \(error)") }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, capture.process.isRunning, !capture.text.contains("listening on") {
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard capture.process.isRunning, capture.text.contains("listening on") else {
            capture.stopProcess()
            throw Unavailable(description: "tcpdump cannot capture on lo: \(capture.text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return capture
    }

    var text: String { lock.withLock { String(decoding: log, as: UTF8.self) } }

    /// Stops tcpdump (SIGINT, so it flushes) and returns the pcap file's bytes.
    func stop() -> [UInt8] {
        stopProcess()
        return (try? [UInt8](Data(contentsOf: file))) ?? []
    }

    private func stopProcess() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stopProcess() }

    /// Packets in a pcap file (classic format: a 24-byte header, then a 16-byte header and the
    /// captured bytes per packet).
    static func packetCount(_ pcap: [UInt8]) -> Int {
        guard pcap.count >= 24 else { return 0 }
        let swapped = pcap[0] == 0xd4 || pcap[0] == 0x4d   // little-endian magic as written on x86
        var offset = 24
        var count = 0
        while offset + 16 <= pcap.count {
            let bytes = pcap[(offset + 8)..<(offset + 12)]
            let length = swapped ? bytes.reversed().reduce(0) { $0 << 8 | Int($1) } : bytes.reduce(0) { $0 << 8 | Int($1) }
            offset += 16 + length
            if offset <= pcap.count { count += 1 }
        }
        return count
    }
}

/// Whether `needle` occurs in `haystack`.
func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
    Data(haystack).range(of: Data(needle.utf8)) != nil
}
