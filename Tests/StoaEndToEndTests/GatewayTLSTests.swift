import Foundation
import Testing

@Suite("The gateway terminates TLS", .serialized, .timeLimit(.minutes(2)))
struct GatewayTLSTests {
    /// Runs `executable` with `arguments`; returns (exit status, stdout + stderr).
    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Fetches `url` with Python's ssl, trusting only `caFile`; prints "STATUS BODY" or "ERROR ...".
    static let fetch = """
        import ssl, sys, urllib.request
        context = ssl.create_default_context(cafile=sys.argv[2]) if sys.argv[2] else None
        try:
            with urllib.request.urlopen(sys.argv[1], context=context, timeout=10) as r:
                print(r.status, r.read().decode())
        except Exception as e:
            print("ERROR", type(e).__name__)
        """

    @Test("with --tls-cert/--tls-key: HTTPS with a verified certificate proxies to the nodes; plain HTTP on that port does not")
    func https() async throws {
        let cluster = try LocalCluster(label: "gw-tls")
        defer { cluster.stopAll() }
        try cluster.start(["n1"])
        let cert = cluster.root.appendingPathComponent("cert.pem").path
        let key = cluster.root.appendingPathComponent("key.pem").path
        let (status, output) = try Self.run("openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        try #require(status == 0, "openssl: \(output)")
        let gateway = GatewayProcess(join: cluster.seedPorts(), extraArguments: ["--tls-cert", cert, "--tls-key", key])
        try gateway.start()
        defer { gateway.kill(signal: SIGKILL) }

        let https = "https://127.0.0.1:\(gateway.port)"
        var last = ""
        #expect(try await eventually(timeout: .seconds(20)) {
            last = try Self.run("python3", ["-c", Self.fetch, https + "/api/health", cert]).1
            return last.hasPrefix("200 ")
        }, "health through TLS: \(last)")
        let quotes = try Self.run("python3", ["-c", Self.fetch, https + "/api/collections/quotes/records", cert]).1
        #expect(quotes.hasPrefix("200 ") && quotes.contains("\"items\":[]"), "a guest's list through TLS: \(quotes)")
        let untrusted = try Self.run("python3", ["-c", Self.fetch, https + "/api/health", ""]).1
        #expect(untrusted.hasPrefix("ERROR"), "a client that does not trust the certificate is refused: \(untrusted)")
        let plain = try Self.run("python3", ["-c", Self.fetch, "http://127.0.0.1:\(gateway.port)/api/health", ""]).1
        #expect(!plain.hasPrefix("200 "), "plain HTTP is not served on the TLS port: \(plain)")
    }
}
