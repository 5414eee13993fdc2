import NIOCore
import NIOHTTP1

/// A node's answer, fully read (or, for a streamed request, with its body still arriving).
public struct ProxiedResponse: Sendable {
    public var status: HTTPResponseStatus
    /// End-to-end headers only (hop-by-hop ones removed), as the gateway passes them on; a whole
    /// body's `Content-Length` is its length as read (an answer to HEAD: the node's).
    public var headers: HTTPHeaders
    public var body: Body
    /// The node that answered.
    public var node: String

    public enum Body: Sendable {
        case buffer(ByteBuffer)
        case stream(UpstreamStream)
    }

    public init(status: HTTPResponseStatus, headers: HTTPHeaders, body: Body, node: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.node = node
    }
}

