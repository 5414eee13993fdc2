import NIOCore
import NIOHTTP1

/// A cached answer in the form the gateway writes it, built once when the answer is stored
/// (``CachedResponse/prepared``): its status, the kept headers with `X-Cache-Status: HIT`, and
/// its body in a `ByteBuffer`. A hit then copies neither: the headers are shared until `Age` is
/// added, the body is shared by every write of it. A class: finding it in an entry is a cast
/// of a class reference, cheaper than one from an existential of any type.
final class PreparedHit: Sendable {
    let status: HTTPResponseStatus
    let headers: HTTPHeaders
    let body: ByteBuffer

    init(status: HTTPResponseStatus, kept: [(String, String)], body: ByteBuffer) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(kept.count + 5)
        for (name, value) in kept { headers.add(name: name, value: value) }
        headers.add(name: "X-Cache-Status", value: "HIT")
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The hit's answer, `ageSeconds` after the answer was stored.
    func response(ageSeconds: Int) -> GatewayResponse {
        var headers = headers
        headers.add(name: "Age", value: String(ageSeconds))
        return GatewayResponse(status: status, headers: headers, body: .buffer(body))
    }
}
