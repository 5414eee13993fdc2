/// A response as the cache keeps it.
public struct CachedResponse: Sendable {
    public var status: Int
    /// The headers to replay (the shell leaves out hop-by-hop and per-response ones).
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// When it was stored (monotonic nanoseconds); `ResponseCache.store` sets it.
    public var storedAt: UInt64
    /// The answer in the form the shell writes, built once when stored (opaque to the cache).
    /// The shell may then keep the body only there (`body` empty): `preparedBytes` counts it.
    public var prepared: (any AnyObject & Sendable)?
    /// Bytes of `prepared` not in `body` or `headers`, counted against the budget.
    public var preparedBytes: Int

    public init(status: Int, headers: [(String, String)], body: [UInt8], storedAt: UInt64 = 0,
                prepared: (any AnyObject & Sendable)? = nil, preparedBytes: Int = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.storedAt = storedAt
        self.prepared = prepared
        self.preparedBytes = preparedBytes
    }

    /// Bytes the response counts against the cache budget: body (and `preparedBytes`) plus
    /// header names and values.
    var byteCount: Int { headers.reduce(body.count + preparedBytes) { $0 + $1.0.utf8.count + $1.1.utf8.count } }
}
