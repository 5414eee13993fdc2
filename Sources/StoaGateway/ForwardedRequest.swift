import NIOCore
import NIOHTTP1

/// A client request as the gateway forwards it: fully read (so it can be sent again to another
/// node), with hop-by-hop headers removed and `X-Forwarded-For`/`X-Forwarded-Proto` set. Its
/// headers are sent as they are, unchecked: every name and value must be one a strict HTTP
/// parser accepts (a client's are, having passed the gateway's server's parser).
public struct ForwardedRequest: Sendable {
    public var method: NIOHTTP1.HTTPMethod
    /// Path and query, as the client sent them (`/api/collections/quotes/records?page=2`).
    public var target: String
    public var headers: HTTPHeaders
    public var body: ByteBuffer?
    /// May be retried on another node after a failure (see ``RequestRoute/isIdempotent(method:bodyHasID:)``).
    public var idempotent: Bool
    /// Server-sent events (`/api/realtime`): streamed, not buffered.
    public var streaming: Bool
    /// The one node that can serve the request (a realtime subscription goes to the node that
    /// holds the client's stream), or nil for any live node.
    public var node: String?

    public init(method: NIOHTTP1.HTTPMethod, target: String, headers: HTTPHeaders, body: ByteBuffer?, idempotent: Bool, streaming: Bool = false, node: String? = nil) {
        self.node = node
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.idempotent = idempotent
        self.streaming = streaming
    }

    /// Headers that describe one connection, never forwarded (RFC 9110 §7.6.1).
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
    ]

    /// True for a hop-by-hop header name, in any letter case (compared without allocating, only
    /// with the names of its length).
    static func isHopByHop(_ name: String) -> Bool {
        let length = name.utf8.count
        guard length < hopByHopByLength.count else { return false }
        return hopByHopByLength[length].contains { GatewayRequest.sameName($0, name) }
    }

    /// The hop-by-hop names by length (index: length in bytes).
    private static let hopByHopByLength: [[String]] = {
        var table = Array(repeating: [String](), count: (hopByHop.map(\.utf8.count).max() ?? 0) + 1)
        for name in hopByHop { table[name.utf8.count].append(name) }
        return table
    }()

    /// True when a JSON body has a top-level string `"id"` (a client-chosen record id).
    static func bodyHasID(_ body: ByteBuffer?) -> Bool {
        guard let body, body.readableBytes > 0, body.readableBytes <= 1 << 20 else { return false }
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else { return false }
        return (object["id"] as? String).map { !$0.isEmpty } ?? false
    }
}

import Foundation
