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
    /// Realtime bytes a client may have waiting before it is disconnected.
    public var realtimeQueueByteLimit: Int
    /// Realtime bytes all clients together may have waiting.
    public var realtimeTotalByteLimit: Int
    /// Failed logins one identity may make at once, and then per minute (``LoginThrottle``).
    public var loginFailureLimit: Int = 10
    /// The login throttle's monotonic clock in nanoseconds; nil is the system's (tests freeze it
    /// so a slow machine's pauses cannot refill the budget mid-test).
    public var loginThrottleClock: (@Sendable () -> UInt64)? = nil
    /// How often the change log is compacted when the node runs alone (in a cluster the
    /// replication configuration's interval applies).
    public var compactionIntervalMillis: UInt64 = 10_000
    /// Password hashes and checks pending at once before more are refused (``PasswordHasher``).
    public var passwordWorkLimit: Int = PasswordHasher.defaultMaxPending
    /// Idle and head timeouts and the connection limit of the HTTP server.
    public var httpLimits = NodeHTTPLimits()
    /// What sends account mail (password reset, verification, email change): SMTP from
    /// `--smtp-host`, a sink in tests; nil: the request endpoints answer 400 (mail not configured).
    public var mailSender: (any MailSender)?
    /// Mails waiting to be sent before more are dropped (``MailQueue``).
    public var mailQueueCapacity: Int = 100
    /// The base URL of the links in account mail (`--public-url`); nil: the URL the node serves.
    public var publicURL: String?

    public init(
        name: String, dataDirectory: String, httpHost: String = "127.0.0.1", httpPort: Int = 8090,
        maxBodyBytes: Int = NodeConfiguration.defaultMaxBodyBytes, tokenSecret: String? = nil,
        tokenLifetimeSeconds: Double = 432_000, bcryptCost: UInt8 = 10, durability: StoaDatabase.Durability = .normal,
        realtimeQueueLimit: Int = 1024, realtimeQueueByteLimit: Int = RealtimeBroker.defaultQueueByteLimit,
        realtimeTotalByteLimit: Int = RealtimeBroker.defaultTotalByteLimit
    ) {
        self.realtimeQueueLimit = realtimeQueueLimit
        self.realtimeQueueByteLimit = realtimeQueueByteLimit
        self.realtimeTotalByteLimit = realtimeTotalByteLimit
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
