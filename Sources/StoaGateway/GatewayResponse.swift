import Foundation
import NIOCore
import NIOHTTP1
import StoaNode

/// An answer of the gateway: its own, or a node's passed on (whole or streamed). The server
/// adds `Content-Length` for a whole body.
public struct GatewayResponse: Sendable {
    public var status: HTTPResponseStatus { didSet { encodedHead = nil } }
    public var headers: HTTPHeaders { didSet { encodedHead = nil } }
    public var body: ProxiedResponse.Body { didSet { encodedHead = nil } }
    /// The answer's head for an HTTP/1.1 connection kept alive, when it was prepared (a cache
    /// hit's, ``PreparedHit``): the server writes its bytes as they are. Any change to the
    /// status, headers or body drops it, so it never disagrees with the answer.
    private(set) var encodedHead: EncodedHead?

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ProxiedResponse.Body = .buffer(ByteBuffer())) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// An answer with its bytes prepared (`encodedHead` must be this answer's head, encoded).
    init(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, encodedHead: EncodedHead) {
        self.init(status: status, headers: headers, body: .buffer(body))
        self.encodedHead = encodedHead
    }

    /// A node's answer as the gateway passes it on.
    init(_ answer: ProxiedResponse) {
        self.init(status: answer.status, headers: answer.headers, body: answer.body)
    }

    /// PocketBase's error envelope (JSON) with the error's headers.
    init(_ error: PBError) {
        var headers = HTTPHeaders()
        for field in error.headers { headers.add(name: field.name.rawName, value: field.value) }
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        self.init(status: HTTPResponseStatus(statusCode: Int(error.status.code)), headers: headers, body: .buffer(ByteBuffer(bytes: error.body)))
    }

    /// A whole body as UTF-8 text (tests and logs), nil for a streamed one.
    public var text: String? {
        if case .buffer(let buffer) = body { return String(buffer: buffer) }
        return nil
    }
}
