import StoaStore

/// Everything a node needs to run; the CLI fills it from flags.
public struct NodeConfiguration: Sendable {
    public static let defaultMaxBodyBytes = 1 << 20

    /// The node's name; origin of every change it writes. Fixed for a data folder.
    public var name: String
    /// The folder holding `stoa.sqlite` (created if missing).
    public var dataDirectory: String
    public var httpHost: String
    public var httpPort: Int
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// Token signing secret; when nil a random one is made and kept in the data folder.
    public var tokenSecret: String?
    public var tokenLifetimeSeconds: Double
    public var bcryptCost: UInt8
    public var durability: StoaDatabase.Durability
    /// Realtime messages a client may have waiting before it is disconnected as too slow.
    public var realtimeQueueLimit: Int

    public init(
        name: String, dataDirectory: String, httpHost: String = "127.0.0.1", httpPort: Int = 8090,
        maxBodyBytes: Int = NodeConfiguration.defaultMaxBodyBytes, tokenSecret: String? = nil,
        tokenLifetimeSeconds: Double = 432_000, bcryptCost: UInt8 = 10, durability: StoaDatabase.Durability = .normal,
        realtimeQueueLimit: Int = 1024
    ) {
        self.realtimeQueueLimit = realtimeQueueLimit
        self.name = name
        self.dataDirectory = dataDirectory
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.maxBodyBytes = maxBodyBytes
        self.tokenSecret = tokenSecret
        self.tokenLifetimeSeconds = tokenLifetimeSeconds
        self.bcryptCost = bcryptCost
        self.durability = durability
    }
}
