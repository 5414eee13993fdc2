/// One simulated client (a device of a user): the nodes it sends its writes to, one picked at
/// random per write, and how often it writes relative to the other clients.
///
/// JSON: `{"nodes": ["n1", "n2"], "weight": 2}`.
public struct ClientSpec: Sendable, Equatable, Decodable {
    public var nodes: [String]
    public var weight: Double

    public init(nodes: [String], weight: Double = 1) {
        self.nodes = nodes
        self.weight = weight
    }

    private enum CodingKeys: String, CodingKey { case nodes, weight }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodes = try container.decode([String].self, forKey: .nodes)
        weight = try container.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        guard !nodes.isEmpty else { throw ScenarioError("workload.clients: a client needs at least one node") }
        guard weight > 0, weight.isFinite else { throw ScenarioError("workload.clients: weight must be positive") }
    }
}
