/// One simulated client (a device of a user): the nodes it sends its writes to, one picked at
/// random per write, and how often it writes relative to the other clients.
///
/// A client with `device` is an offline-capable device: it sends every write as a one-edit
/// `POST /api/sync` batch (``StoaStore/StoaDatabase/applyDeviceEdits(_:owner:)``), stamped
/// with its own wall clock, which runs `clockOffsetSeconds` ahead of true time (negative:
/// behind).
///
/// JSON: `{"nodes": ["n1", "n2"], "weight": 2}`, `{"nodes": ["n1"], "device": {"clockOffsetSeconds": 59}}`.
public struct ClientSpec: Sendable, Equatable, Decodable {
    public var nodes: [String]
    public var weight: Double
    /// For a device client: how far its clock is ahead of true time, in milliseconds.
    public var deviceClockOffsetMillis: Int64?

    public init(nodes: [String], weight: Double = 1, deviceClockOffsetMillis: Int64? = nil) {
        self.nodes = nodes
        self.weight = weight
        self.deviceClockOffsetMillis = deviceClockOffsetMillis
    }

    private enum CodingKeys: String, CodingKey { case nodes, weight, device }

    private struct DeviceSpec: Decodable {
        var clockOffsetSeconds: Double?
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nodes = try container.decode([String].self, forKey: .nodes)
        weight = try container.decodeIfPresent(Double.self, forKey: .weight) ?? 1
        guard !nodes.isEmpty else { throw ScenarioError("workload.clients: a client needs at least one node") }
        guard weight > 0, weight.isFinite else { throw ScenarioError("workload.clients: weight must be positive") }
        if let device = try container.decodeIfPresent(DeviceSpec.self, forKey: .device) {
            let seconds = device.clockOffsetSeconds ?? 0
            guard seconds.isFinite, abs(seconds) <= 86_400 else { throw ScenarioError("workload.clients: device.clockOffsetSeconds must be within a day") }
            deviceClockOffsetMillis = Int64((seconds * 1000).rounded())
        }
    }
}
