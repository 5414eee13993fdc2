import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The share of one core the process used over `duration` (utime + stime from `/proc`).
func cpuShare(of pid: Int32, over duration: Duration) throws -> Double {
    func ticks() throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        return Double(fields[11])! + Double(fields[12])!
    }
    let first = try ticks()
    let start = ContinuousClock.now
    Thread.sleep(forTimeInterval: Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (try ticks() - first) / Double(sysconf(Int32(_SC_CLK_TCK))) / seconds
}

/// A node's `/metrics` text.
func prometheusText(_ base: String) async throws -> String {
    let (data, _) = try await URLSession.shared.data(from: URL(string: base + "/metrics")!)
    return String(decoding: data, as: UTF8.self)
}

/// The value of a Prometheus sample named exactly `name` (with its labels), or -1.
func sample(_ text: String, _ name: String) -> Double {
    for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1)) ?? -1
    }
    return -1
}

/// A non-blocking POSIX TCP socket to 127.0.0.1, as an attacker holds them (connects and sends
/// never wait long: an attacked server may never read).
final class AttackSocket {
    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Connects (waiting for the handshake unless `wait` is false: past a full backlog a
    /// connect would block).
    static func connect(port: Int, wait: Bool = true) throws -> AttackSocket {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        if !wait { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if wait, result != 0 {
            Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        if wait { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
        return AttackSocket(descriptor: descriptor)
    }

    /// Sends as much of `bytes` as the peer takes within `timeout` (it may close meanwhile).
    func sendAll(_ bytes: [UInt8], timeout: Duration) {
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        while offset < bytes.count, ContinuousClock.now < deadline {
            let sent = bytes[offset...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent > 0 {
                offset += sent
            } else if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                usleep(1000)
            } else {
                return
            }
        }
    }

    func close() { Glibc.close(descriptor) }
}
