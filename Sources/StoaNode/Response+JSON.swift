import Foundation
import Hummingbird

extension Response {
    static let jsonEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A JSON response of `value` with `status` (200 by default).
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try jsonEncoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

extension Response {
    /// A JSON response of a value that writes its own JSON (records and pages of records).
    static func json(_ value: some JSONWritable, status: HTTPResponse.Status = .ok) -> Response {
        var output = JSONOutput()
        value.writeJSON(into: &output)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: output.bytes))
        )
    }
}

extension Request {
    /// The request body, at most `context.maxUploadSize` bytes (413 beyond).
    mutating func bodyData(context: StoaRequestContext) async throws -> Data {
        let buffer = try await collectBody(upTo: context.maxUploadSize)
        return Data(buffer.readableBytesView)
    }
}
