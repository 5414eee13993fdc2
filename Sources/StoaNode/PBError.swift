import Foundation
import Hummingbird

/// An error answered in PocketBase's envelope: `{"data":{...},"message":"...","status":N}`.
///
/// `data` holds field-level details for validation errors, as PocketBase does:
/// `{"content":{"code":"validation_required","message":"Cannot be blank."}}`.
public struct PBError: HTTPResponseError, Sendable {
    public struct FieldError: Sendable, Equatable, Encodable {
        public let code: String
        public let message: String
        /// Limits named by the message (`{"min":15}`), as PocketBase adds for length errors.
        public let params: [String: Int]?

        public init(code: String, message: String, params: [String: Int]? = nil) {
            self.code = code
            self.message = message
            self.params = params
        }

        public static let required = FieldError(code: "validation_required", message: "Cannot be blank.")

        /// A text value holding U+0000 (NUL). SQLite's C interface would cut it at that
        /// character, so Stoa refuses it rather than store less than the client sent.
        public static let containsNUL = FieldError(code: "validation_invalid_format", message: "Must not contain the NUL character (U+0000).")

        public static func minLength(_ min: Int, params: Bool = true) -> FieldError {
            FieldError(code: "validation_min_text_constraint", message: "Must be at least \(min) character(s).", params: params ? ["min": min] : nil)
        }

        public static func maxLength(_ max: Int) -> FieldError {
            FieldError(code: "validation_max_text_constraint", message: "Must be no more than \(max) character(s).", params: ["max": max])
        }
    }

    public let status: HTTPResponse.Status
    public let message: String
    public let data: [String: FieldError]
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, data: [String: FieldError] = [:]) {
        self.status = status
        self.message = message
        self.data = data
    }

    // MARK: - The messages PocketBase uses

    public static let notFound = PBError(.notFound, "The requested resource wasn't found.")
    public static func badRequest(_ message: String = "Something went wrong while processing your request.", data: [String: FieldError] = [:]) -> PBError {
        PBError(.badRequest, message, data: data)
    }
    public static let unauthorized = PBError(.unauthorized, "The request requires valid record authorization token.")
    public static let forbidden = PBError(.forbidden, "You are not allowed to perform this request.")
    public static let tooLarge = PBError(.contentTooLarge, "Request entity too large.")
    public static let internalError = PBError(.internalServerError, "Something went wrong while processing your request.")

    private struct Envelope: Encodable {
        let data: [String: FieldError]
        let message: String
        let status: Int
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The envelope's JSON bytes.
    public var body: Data {
        (try? Self.encoder.encode(Envelope(data: data, message: message, status: Int(status.code))))
            ?? Data(#"{"data":{},"message":"Something went wrong while processing your request.","status":500}"#.utf8)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
