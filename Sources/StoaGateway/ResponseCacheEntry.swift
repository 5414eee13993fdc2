/// A response as the cache keeps it.
public struct CachedResponse: Sendable {
    public var status: Int
    /// The headers to replay (the shell leaves out hop-by-hop and per-response ones).
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// When it was stored (monotonic nanoseconds); `ResponseCache.store` sets it.
    public var storedAt: UInt64

    public init(status: Int, headers: [(String, String)], body: [UInt8], storedAt: UInt64 = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.storedAt = storedAt
    }

    /// Bytes the response counts against the cache budget: body plus header names and values.
    var byteCount: Int { headers.reduce(body.count) { $0 + $1.0.utf8.count + $1.1.utf8.count } }
}
