import NIOCore
import NIOHTTP1

/// A cached answer in the form the gateway writes it, built once when the answer is stored
/// (``CachedResponse/prepared``): its status, the kept headers with its `Content-Length` and
/// `X-Cache-Status: HIT`, and its body in a `ByteBuffer`. A hit then copies neither: the body is
/// shared by every write of it, and the headers with `Age`, and the head's bytes
/// (``EncodedHead``), are built once per age (in whole seconds) and shared by every hit of
/// that age. A class: finding it in an entry is a cast of a
/// class reference, cheaper than one from an existential of any type.
///
/// The memo of the last age's headers is read and written only under the lock of the
/// ``GatewayCache`` holding the entry (``response(ageSeconds:)`` is called there).
final class PreparedHit: @unchecked Sendable {
    let status: HTTPResponseStatus
    let headers: HTTPHeaders
    let body: ByteBuffer
    /// The headers of the last age answered, with its `Age`, and the head's bytes.
    private var aged: (age: Int, headers: HTTPHeaders, head: EncodedHead)?

    init(status: HTTPResponseStatus, kept: [(String, String)], body: ByteBuffer) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(kept.count + 6)
        for (name, value) in kept { headers.add(name: name, value: value) }
        headers.add(name: "X-Cache-Status", value: "HIT")
        // The length a GET's answer has (an answer to HEAD keeps it): the server need not add it.
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        self.status = status
        self.headers = headers
        // A copy of its own: a node's answer may be a slice of a larger read buffer, which the
        // cache would otherwise keep whole (and count only in part).
        var own = ByteBufferAllocator().buffer(capacity: body.readableBytes)
        own.writeImmutableBuffer(body)
        self.body = own
    }

    /// The hit's answer, `ageSeconds` after the answer was stored. Call it only under the lock
    /// of the cache holding this entry.
    func response(ageSeconds: Int) -> GatewayResponse {
        if let aged, aged.age == ageSeconds {
            return GatewayResponse(status: status, headers: aged.headers, body: body, encodedHead: aged.head)
        }
        var headers = headers
        headers.add(name: "Age", value: String(ageSeconds))
        let head = EncodedHead(status: status, headers: headers)
        aged = (ageSeconds, headers, head)
        return GatewayResponse(status: status, headers: headers, body: body, encodedHead: head)
    }
}
