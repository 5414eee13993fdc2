import Foundation
import Testing

@Suite("stoa cluster up", .timeLimit(.minutes(2)))
struct ClusterUpTests {
    /// A free loopback TCP port (the OS picks it; released before use).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 ? getsockname(fd, $0, &length) : -1 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs `stoa cluster up` in `folder` until it prints that the cluster is up.
    func start(in folder: URL) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = NodeProcess.binary
        process.arguments = ["cluster", "up", "--config", "local.toml", "--bcrypt-cost", "4", "--timeout", "30"]
        process.currentDirectoryURL = folder
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        return (process, pipe)
    }

    func waitForUp(_ pipe: Pipe) throws -> String {
        var output = Data()
        let deadline = Date().addingTimeInterval(40)
        while Date() < deadline {
            output.append(pipe.fileHandleForReading.availableData)
            let text = String(decoding: output, as: UTF8.self)
            if text.contains("Press Ctrl-C to stop.") { return text }
        }
        return String(decoding: output, as: UTF8.self)
    }

    @Test("starts three nodes that see each other and the gateway, prints their URLs, stops them all on SIGTERM, and keeps data across restarts")
    func upDownUp() async throws {
        let folder = try temporaryDirectory("cluster-up")
        defer { try? FileManager.default.removeItem(at: folder) }
        let http = (0..<3).map { _ in Self.freePort() }
        let gossip = (0..<3).map { _ in Self.freePort() }
        var toml = "data = \"data\"\n"
        for index in 0..<3 {
            toml += "\n[[node]]\nname = \"n\(index + 1)\"\nhttp = \"127.0.0.1:\(http[index])\"\ngossip = \"127.0.0.1:\(gossip[index])\"\n"
        }
        let gatewayPort = Self.freePort()
        let adminPort = Self.freePort()
        toml += "\n[gateway]\nhttp = \"127.0.0.1:\(gatewayPort)\"\nadmin_http = \"127.0.0.1:\(adminPort)\"\n"
        try toml.write(to: folder.appendingPathComponent("local.toml"), atomically: true, encoding: .utf8)

        let (first, pipe) = try start(in: folder)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        let banner = try waitForUp(pipe)
        for port in http { #expect(banner.contains("http://127.0.0.1:\(port)")) }
        #expect(banner.contains("gateway http://127.0.0.1:\(gatewayPort)"))
        #expect(banner.contains("admin dashboard http://127.0.0.1:\(gatewayPort)/_/"), "\(banner)")
        #expect(banner.contains("gateway status http://127.0.0.1:\(adminPort)/_/"), "\(banner)")
        let n1 = HTTPJSON(base: "http://127.0.0.1:\(http[0])")
        let n3 = HTTPJSON(base: "http://127.0.0.1:\(http[2])")
        _ = try await n1.send("POST", "/api/collections/users/records", json: ["email": "up@example.com", "password": "12345678", "passwordConfirm": "12345678"])
        var token = ""
        #expect(try await eventually {
            let auth = try await n3.send("POST", "/api/collections/users/auth-with-password", json: ["identity": "up@example.com", "password": "12345678"])
            token = auth.json["token"] as? String ?? ""
            return auth.status == 200
        })
        let created = try await n3.send("POST", "/api/collections/quotes/records", token: token, json: ["content": "survives restarts"])
        #expect(created.status == 200)
        let id = created.json["id"] as? String ?? ""
        // The gateway routes to the nodes and verifies the same tokens.
        let gateway = HTTPJSON(base: "http://127.0.0.1:\(gatewayPort)")
        #expect(try await eventually { try await gateway.send("GET", "/api/collections/quotes/records/\(id)", token: token).status == 200 })
        #expect(try await HTTPJSON(base: "http://127.0.0.1:\(adminPort)").send("GET", "/api/gateway").status == 200)
        #expect(try await gateway.send("GET", "/api/gateway").status == 404, "the gateway's pages are not on the client port")

        kill(first.processIdentifier, SIGTERM)
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        // No node is left running: the HTTP ports refuse connections.
        #expect(await (try? n1.send("GET", "/api/health")) == nil)

        let (second, pipe2) = try start(in: folder)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        _ = try waitForUp(pipe2)
        let n2 = HTTPJSON(base: "http://127.0.0.1:\(http[1])")
        #expect(try await eventually { try await n2.send("GET", "/api/collections/quotes/records/\(id)", token: token).status == 200 },
                "the record and the token survive a restart of the cluster")
        kill(second.processIdentifier, SIGINT)
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
    }

    @Test("[[gateway]] tables: cluster up starts each gateway, lists them all, and they invalidate each other's caches")
    func severalGateways() async throws {
        let folder = try temporaryDirectory("cluster-up-gateways")
        defer { try? FileManager.default.removeItem(at: folder) }
        let http = (0..<2).map { _ in Self.freePort() }
        var toml = "data = \"data\"\n"
        for index in 0..<2 {
            toml += "\n[[node]]\nname = \"n\(index + 1)\"\nhttp = \"127.0.0.1:\(http[index])\"\ngossip = \"127.0.0.1:\(Self.freePort())\"\n"
        }
        let gateways = (1...2).map { (name: "g\($0)", http: Self.freePort(), admin: Self.freePort()) }
        for gateway in gateways {
            toml += "\n[[gateway]]\nname = \"\(gateway.name)\"\nhttp = \"127.0.0.1:\(gateway.http)\"\nadmin_http = \"127.0.0.1:\(gateway.admin)\"\n"
            toml += "cache_bytes = 1048576\n"
        }
        try toml.write(to: folder.appendingPathComponent("local.toml"), atomically: true, encoding: .utf8)

        let (process, pipe) = try start(in: folder)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let banner = try waitForUp(pipe)
        for gateway in gateways {
            #expect(banner.contains("gateway \(gateway.name) http://127.0.0.1:\(gateway.http)"), "\(banner)")
            #expect(banner.contains("gateway \(gateway.name) status http://127.0.0.1:\(gateway.admin)/_/"), "\(banner)")
        }
        // Each gateway's status page lists the other gateway.
        for (gateway, other) in [(gateways[0], gateways[1]), (gateways[1], gateways[0])] {
            #expect(try await eventually {
                let status = try await HTTPJSON(base: "http://127.0.0.1:\(gateway.admin)").send("GET", "/api/gateway")
                return status.json["name"] as? String == gateway.name
                    && (status.json["gateways"] as? [[String: Any]] ?? []).contains { ($0["name"] as? String) == other.name && ($0["status"] as? String) == "alive" }
            }, "\(gateway.name) sees \(other.name)")
        }
        let n1 = HTTPJSON(base: "http://127.0.0.1:\(http[0])")
        _ = try await n1.send("POST", "/api/collections/users/records", json: ["email": "two@example.com", "password": "12345678", "passwordConfirm": "12345678"])
        let token = try #require(try await n1.send("POST", "/api/collections/users/auth-with-password", json: ["identity": "two@example.com", "password": "12345678"]).json["token"] as? String)
        let g1 = HTTPJSON(base: "http://127.0.0.1:\(gateways[0].http)")
        let g2 = HTTPJSON(base: "http://127.0.0.1:\(gateways[1].http)")
        let id = try #require(try await g1.send("POST", "/api/collections/quotes/records", token: token, json: ["content": "one"]).json["id"] as? String)
        let view = "/api/collections/quotes/records/\(id)"
        #expect(try await eventually { try await g2.send("GET", view, token: token).json["content"] as? String == "one" })
        _ = try await g2.send("GET", view, token: token)
        #expect(try await g1.send("PATCH", view, token: token, json: ["content": "two"]).status == 200)
        #expect(try await g2.send("GET", view, token: token).json["content"] as? String == "two", "read back at once through the other gateway")

        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        for gateway in gateways { #expect(await (try? HTTPJSON(base: "http://127.0.0.1:\(gateway.http)").send("GET", "/api/health")) == nil) }
    }

    @Test("a cluster file with both gateway forms, twice a gateway name or a shared address is refused with the reason")
    func badGatewayTables() throws {
        let node = "data = \"data\"\n[[node]]\nname = \"n1\"\nhttp = \"127.0.0.1:18091\"\ngossip = \"127.0.0.1:17946\"\n"
        let cases = [
            ("[gateway]\nhttp = \"127.0.0.1:18090\"\n[[gateway]]\nname = \"g2\"\nhttp = \"127.0.0.1:18080\"\n", "not both"),
            ("[[gateway]]\nname = \"g\"\nhttp = \"127.0.0.1:18090\"\nadmin_http = \"127.0.0.1:18089\"\n[[gateway]]\nname = \"g\"\nhttp = \"127.0.0.1:18080\"\nadmin_http = \"127.0.0.1:18079\"\n", "names must be unique"),
            ("[[gateway]]\nname = \"g1\"\nhttp = \"127.0.0.1:18090\"\n[[gateway]]\nname = \"g2\"\nhttp = \"127.0.0.1:18080\"\n", "every address must be distinct"),
            ("[[gateway]]\nhttp = \"127.0.0.1:18090\"\nadmin_http = \"127.0.0.1:18089\"\n[[gateway]]\nname = \"g2\"\nhttp = \"127.0.0.1:18080\"\nadmin_http = \"127.0.0.1:18079\"\n", "needs name"),
        ]
        for (gatewayTables, reason) in cases {
            let folder = try temporaryDirectory("cluster-up-bad")
            defer { try? FileManager.default.removeItem(at: folder) }
            try (node + gatewayTables).write(to: folder.appendingPathComponent("local.toml"), atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = NodeProcess.binary
            process.arguments = ["cluster", "up", "--config", "local.toml"]
            process.currentDirectoryURL = folder
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus != 0)
            #expect(text.contains(reason), "\(reason): \(text)")
        }
    }
}
