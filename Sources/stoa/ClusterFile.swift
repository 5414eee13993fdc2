import Foundation
import StoaGateway

/// A cluster definition (`cluster/local.toml`): where node data lives, the nodes and the
/// gateway slot.
struct ClusterFile: Sendable {
    struct Node: Sendable {
        let name: String
        let http: HostPort
        let gossip: HostPort
    }

    /// The `[gateway]` table: its address and, optionally, its admin listener (`admin_http`),
    /// gossip address, rate-limit policies and trusted proxies (comma separated strings) and
    /// cache budget.
    struct Gateway: Sendable {
        let http: HostPort
        let adminHTTP: HostPort?
        let gossip: HostPort?
        let rateLimits: [String]?
        let trustedProxies: [String]?
        let cacheBytes: Int?
    }

    let dataDirectory: String
    let nodes: [Node]
    let gateway: Gateway?
    var gatewayHTTP: HostPort? { gateway?.http }
    /// The gateway's admin listener: `admin_http` of `[gateway]`, else the gateway's default.
    var gatewayAdminHTTP: HostPort { gateway?.adminHTTP ?? HostPort(argument: GatewayConfiguration.defaultAdminHTTP)! }

    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    init(path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Invalid(description: "cannot read \(path): \(error.localizedDescription)")
        }
        let document: TOMLSubset
        do { document = try TOMLSubset(text) } catch { throw Invalid(description: "\(path): \(error)") }
        try self.init(document: document, path: path)
    }

    init(document: TOMLSubset, path: String) throws {
        func string(_ table: TOMLSubset.Table, _ key: String, _ context: String) throws -> String {
            guard case .string(let value)? = table[key], !value.isEmpty else {
                throw Invalid(description: "\(path): \(context) needs \(key) = \"...\"")
            }
            return value
        }
        func address(_ table: TOMLSubset.Table, _ key: String, _ context: String) throws -> HostPort {
            let text = try string(table, key, context)
            guard let value = HostPort(argument: text) else { throw Invalid(description: "\(path): \(context) \(key) \"\(text)\" is not HOST:PORT") }
            return value
        }
        dataDirectory = try string(document.root, "data", "the file")
        var nodes: [Node] = []
        for (index, table) in (document.arrays["node"] ?? []).enumerated() {
            let context = "[[node]] #\(index + 1)"
            nodes.append(Node(name: try string(table, "name", context), http: try address(table, "http", context), gossip: try address(table, "gossip", context)))
        }
        guard !nodes.isEmpty else { throw Invalid(description: "\(path): no [[node]] tables") }
        guard Set(nodes.map(\.name)).count == nodes.count else { throw Invalid(description: "\(path): node names must be unique") }
        let ports = nodes.flatMap { [$0.http.description, $0.gossip.description] }
        guard Set(ports).count == ports.count else { throw Invalid(description: "\(path): every http and gossip address must be distinct") }
        self.nodes = nodes
        gateway = try document.tables["gateway"].map { table in
            func list(_ key: String) throws -> [String]? {
                guard let value = table[key] else { return nil }
                guard case .string(let text) = value else { throw Invalid(description: "\(path): [gateway] \(key) must be a string") }
                return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            var cacheBytes: Int?
            if let value = table["cache_bytes"] {
                guard case .integer(let bytes) = value, bytes >= 0 else { throw Invalid(description: "\(path): [gateway] cache_bytes must be an integer >= 0") }
                cacheBytes = bytes
            }
            return Gateway(
                http: try address(table, "http", "[gateway]"),
                adminHTTP: table["admin_http"] == nil ? nil : try address(table, "admin_http", "[gateway]"),
                gossip: table["gossip"] == nil ? nil : try address(table, "gossip", "[gateway]"),
                rateLimits: try list("rate_limits"), trustedProxies: try list("trusted_proxies"), cacheBytes: cacheBytes
            )
        }
    }
}
