import Foundation
import StoaGateway

/// A cluster definition (`cluster/local.toml`): where node data lives, the nodes and the
/// gateways: one `[gateway]` table, or several `[[gateway]]` tables (each with its own `name`
/// and addresses; they share rate limits and invalidate each other's caches).
struct ClusterFile: Sendable {
    struct Node: Sendable {
        let name: String
        let http: HostPort
        let gossip: HostPort
    }

    /// A `[gateway]` or `[[gateway]]` table: its member name (`name`, default `gateway`), its
    /// address and, optionally, its admin listener (`admin_http`), gossip address, rate-limit
    /// policies and trusted proxies (comma separated strings) and cache budget.
    struct Gateway: Sendable {
        let name: String
        let http: HostPort
        let adminHTTP: HostPort?
        let gossip: HostPort?
        let rateLimits: [String]?
        let trustedProxies: [String]?
        let cacheBytes: Int?
    }

    let dataDirectory: String
    let nodes: [Node]
    /// The gateways, in file order (none when the file has no gateway table).
    let gateways: [Gateway]

    /// A gateway's admin listener: its `admin_http`, else the gateway's default.
    static func adminHTTP(of gateway: Gateway) -> HostPort {
        gateway.adminHTTP ?? HostPort(argument: GatewayConfiguration.defaultAdminHTTP)!
    }

    /// The gateway `stoa gateway --config` takes its defaults from: the one named `name` (nil:
    /// the only one). Nil when the file has no gateway table.
    func gateway(named name: String?, path: String) throws -> Gateway? {
        guard let name else {
            guard gateways.count <= 1 else {
                throw Invalid(description: "\(path) has \(gateways.count) gateways (\(gateways.map(\.name).joined(separator: ", "))): pick one with --name")
            }
            return gateways.first
        }
        if gateways.count == 1, gateways[0].name == "gateway" { return gateways[0] }
        guard let gateway = gateways.first(where: { $0.name == name }) else {
            guard gateways.isEmpty else {
                throw Invalid(description: "\(path) has no gateway named \(name) (it has \(gateways.map(\.name).joined(separator: ", ")))")
            }
            return nil
        }
        return gateway
    }

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
        if document.tables["gateway"] != nil, document.arrays["gateway"] != nil {
            throw Invalid(description: "\(path): use either one [gateway] table or [[gateway]] tables, not both")
        }
        let tables = document.tables["gateway"].map { [$0] } ?? document.arrays["gateway"] ?? []
        var gateways: [Gateway] = []
        for (index, table) in tables.enumerated() {
            let context = document.tables["gateway"] != nil ? "[gateway]" : "[[gateway]] #\(index + 1)"
            func list(_ key: String) throws -> [String]? {
                guard let value = table[key] else { return nil }
                guard case .string(let text) = value else { throw Invalid(description: "\(path): \(context) \(key) must be a string") }
                return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            var cacheBytes: Int?
            if let value = table["cache_bytes"] {
                guard case .integer(let bytes) = value, bytes >= 0 else { throw Invalid(description: "\(path): \(context) cache_bytes must be an integer >= 0") }
                cacheBytes = bytes
            }
            let name = table["name"] == nil && tables.count == 1 ? "gateway" : try string(table, "name", context)
            gateways.append(Gateway(
                name: name,
                http: try address(table, "http", context),
                adminHTTP: table["admin_http"] == nil ? nil : try address(table, "admin_http", context),
                gossip: table["gossip"] == nil ? nil : try address(table, "gossip", context),
                rateLimits: try list("rate_limits"), trustedProxies: try list("trusted_proxies"), cacheBytes: cacheBytes
            ))
        }
        guard Set(gateways.map(\.name)).count == gateways.count else { throw Invalid(description: "\(path): gateway names must be unique") }
        guard Set(gateways.map(\.name)).isDisjoint(with: nodes.map(\.name)) else {
            throw Invalid(description: "\(path): a gateway cannot share a node's name")
        }
        let listeners = ports + gateways.flatMap { gateway in
            [gateway.http.description, Self.adminHTTP(of: gateway).description] + (gateway.gossip.map { [$0.description] } ?? [])
        }
        guard Set(listeners).count == listeners.count else {
            throw Invalid(description: "\(path): every address must be distinct (with several gateways, give each its own http, admin_http and gossip)")
        }
        self.gateways = gateways
    }
}
