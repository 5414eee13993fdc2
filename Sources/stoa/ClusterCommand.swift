import ArgumentParser
import Dispatch
import Foundation
import StoaGateway
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `stoa cluster`: run a local cluster from a cluster file.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Run a local Stoa cluster.",
        subcommands: [ClusterUpCommand.self]
    )
}

/// `stoa cluster up`: starts every node of the cluster file as a child process, waits until they
/// see each other, prints their URLs, and stops them all on Ctrl-C or SIGTERM. Data, the cluster
/// key and the token secret are kept under the file's `data` folder, so a restarted cluster keeps
/// its records and its users' tokens stay valid.
struct ClusterUpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Start the cluster in the foreground.")

    @Option(help: "Cluster file.")
    var config: String = "cluster/local.toml"

    @Option(help: "Seconds to wait for the nodes to see each other.")
    var timeout: Double = 60

    @Option(help: "bcrypt cost for password hashes.")
    var bcryptCost: UInt8 = 10

    func run() async throws {
        let file = try ClusterFile(path: config)
        let root = URL(fileURLWithPath: file.dataDirectory)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let keyFile = root.appendingPathComponent("cluster.key")
        let tokenSecret = try Self.secret(at: root.appendingPathComponent("token.secret"))
        _ = try Self.secret(at: keyFile)

        let executable = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
        let supervisor = Supervisor()
        supervisor.stopOnSignals()
        for node in file.nodes where !supervisor.stopping {
            let others = file.nodes.filter { $0.name != node.name }.map(\.gossip.description).joined(separator: ",")
            var arguments = [
                "node", "--name", node.name, "--data", root.appendingPathComponent(node.name).path,
                "--http", node.http.description, "--gossip", node.gossip.description,
                "--cluster-key-file", keyFile.path, "--bcrypt-cost", String(bcryptCost),
            ]
            if !others.isEmpty { arguments += ["--join", others] }
            do {
                try supervisor.start(name: node.name, executable: executable, arguments: arguments, environment: ["STOA_TOKEN_SECRET": tokenSecret])
            } catch {
                // Never leave the nodes already started running on their own.
                supervisor.stopAll()
                _ = await supervisor.waitUntilStopped()
                throw error
            }
        }

        var ready = await Self.waitUntilJoined(file.nodes, timeout: timeout, supervisor: supervisor)
        // Each gateway joins through the nodes' gossip addresses and takes its settings from its
        // table of the file; they find each other through the membership.
        for gateway in file.gateways where ready && !supervisor.stopping {
            do {
                try supervisor.start(
                    name: gateway.name, executable: executable,
                    arguments: ["gateway", "--config", config, "--name", gateway.name, "--cluster-key-file", keyFile.path],
                    environment: ["STOA_TOKEN_SECRET": tokenSecret]
                )
                ready = await Self.waitUntilRouting(admin: ClusterFile.adminHTTP(of: gateway), nodes: file.nodes.count, timeout: timeout, supervisor: supervisor)
            } catch {
                supervisor.stopAll()
                _ = await supervisor.waitUntilStopped()
                throw error
            }
        }
        if ready {
            var lines = ["", "Stoa cluster is up (data in \(root.path)):"]
            for node in file.nodes {
                lines.append("  \(node.name)  http://\(node.http)   (gossip \(node.gossip))")
            }
            for gateway in file.gateways {
                let label = file.gateways.count == 1 ? "gateway" : "gateway \(gateway.name)"
                lines.append("  \(label) http://\(gateway.http)   (use this one: it balances, fails over, limits and caches)")
            }
            if let gateway = file.gateways.first {
                lines.append("  admin dashboard http://\(gateway.http)/_/   (a superuser signs in: make one with `stoa superuser upsert EMAIL PASSWORD --data DIR` while the cluster is stopped)")
            }
            for gateway in file.gateways {
                let label = file.gateways.count == 1 ? "gateway status" : "gateway \(gateway.name) status"
                lines.append("  \(label) http://\(ClusterFile.adminHTTP(of: gateway))/_/   (admin listener: also /api/gateway and /metrics)")
            }
            lines.append("Press Ctrl-C to stop.")
            // Written unbuffered, so the URLs show at once also when the output is piped.
            FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n\n").utf8))
        } else if !supervisor.stopping {
            FileHandle.standardError.write(Data("the nodes (and gateways) were not all ready within \(Int(timeout)) s; stopping\n".utf8))
            supervisor.stopAll()
        }
        let status = await supervisor.waitUntilStopped()
        if !ready || status != 0 { throw ExitCode(1) }
    }

    struct SecretError: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads the secret in `url`, creating a random one (mode 0600) on first use. An existing
    /// file that cannot be read or is empty is an error, never silently replaced (that would
    /// invalidate every token or split the cluster).
    static func secret(at url: URL) throws -> String {
        if FileManager.default.fileExists(atPath: url.path) {
            guard let text = try? String(contentsOf: url, encoding: .utf8),
                  let line = text.split(whereSeparator: \.isNewline).first, !line.isEmpty
            else { throw SecretError(description: "\(url.path) exists but holds no readable secret; fix or remove it") }
            return String(line)
        }
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<4).map { _ in String(rng.next(), radix: 16) }.joined()
        guard FileManager.default.createFile(atPath: url.path, contents: Data((secret + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SecretError(description: "cannot write \(url.path)")
        }
        return secret
    }

    /// Polls the gateway's `/api/gateway` (on its admin listener) until it routes to `nodes` nodes.
    static func waitUntilRouting(admin: HostPort, nodes: Int, timeout: Double, supervisor: Supervisor) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let session = URLSession(configuration: .ephemeral)
        while Date() < deadline, !supervisor.stopping {
            if let url = URL(string: "http://\(admin)/api/gateway"),
               let (data, _) = try? await session.data(from: url),
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let rows = json["nodes"] as? [[String: Any]],
               rows.filter({ $0["state"] as? String == "alive" }).count >= nodes {
                return true
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    /// Polls every node's `/api/cluster` until each lists all the others as alive.
    static func waitUntilJoined(_ nodes: [ClusterFile.Node], timeout: Double, supervisor: Supervisor) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let session = URLSession(configuration: .ephemeral)
        while Date() < deadline, !supervisor.stopping {
            var joined = 0
            for node in nodes {
                guard let url = URL(string: "http://\(node.http)/api/cluster"),
                      let (data, _) = try? await session.data(from: url),
                      let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let members = json["members"] as? [[String: Any]]
                else { continue }
                let alive = members.filter { $0["status"] as? String == "alive" }.count
                if alive >= nodes.count - 1 { joined += 1 }
            }
            if joined == nodes.count { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}
