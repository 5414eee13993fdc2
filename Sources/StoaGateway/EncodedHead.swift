import NIOCore
import NIOHTTP1

/// An answer's head as the gateway writes it to an HTTP/1.1 connection kept alive: the status
/// line and the headers as given (the caller includes `Content-Length`), written past NIO's
/// response encoder with the body after it as it is (``GatewayConnectionHandler``: every whole
/// answer to such a connection). A cache hit keeps one per age (``PreparedHit``), so a hit's
/// head is not encoded per hit; other answers are encoded as they are written.
///
/// Contract: the bytes are what NIO's `HTTPResponseEncoder` writes for the same head (version
/// 1.1, no framing added), the blank line that ends the head included.
struct EncodedHead: Sendable {
    let bytes: ByteBuffer

    init(status: HTTPResponseStatus, headers: HTTPHeaders) {
        var size = 32
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        var bytes = ByteBufferAllocator().buffer(capacity: size)
        bytes.writeStaticString("HTTP/1.1 ")
        bytes.writeString(String(status.code))
        bytes.writeStaticString(" ")
        bytes.writeString(status.reasonPhrase)
        bytes.writeStaticString("\r\n")
        for (name, value) in headers {
            bytes.writeString(name)
            bytes.writeStaticString(": ")
            bytes.writeString(value)
            bytes.writeStaticString("\r\n")
        }
        bytes.writeStaticString("\r\n")
        self.bytes = bytes
    }
}
