import Foundation
import NIOCore
import NIOHTTP1
import StoaNode

/// An answer of the gateway: its own, or a node's passed on (whole or streamed). The server
/// adds `Content-Length` for a whole body.
public struct GatewayResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ProxiedResponse.Body

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ProxiedResponse.Body = .buffer(ByteBuffer())) {
        self.status = status
        self.headers = headers
        self.body = body
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
