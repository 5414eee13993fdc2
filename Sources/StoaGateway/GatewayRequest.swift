import NIOCore
import NIOHTTP1

/// A client's request as the gateway's server read it: the head, the whole body, the TCP peer
/// and the event loop of the client's connection (the request is answered on it).
public struct GatewayRequest: Sendable {
    public let head: HTTPRequestHead
    public var body: ByteBuffer
    /// The TCP peer's IP address as text (`127.0.0.1`, `::1`), or "" when unknown.
    public var peerIP: String
    public var eventLoop: any EventLoop
    /// The target's path, as sent (`/api/collections/quotes/records`).
    public let path: Substring
    /// The target's query without `?`, or nil when there is none.
    public let query: Substring?

    public init(head: HTTPRequestHead, body: ByteBuffer = ByteBuffer(), peerIP: String, eventLoop: any EventLoop) {
        self.head = head
        self.body = body
        self.peerIP = peerIP
        self.eventLoop = eventLoop
        (path, query) = Self.split(head.uri)
    }

    /// The path of a request target (before `?`).
    static func path(of uri: String) -> Substring { split(uri).path }

    /// A request target's path and its query without `?` (nil when there is none). Searched as
    /// bytes: `?` is ASCII, and a Character search runs grapheme breaking.
    static func split(_ uri: String) -> (path: Substring, query: Substring?) {
        guard let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (uri[...], nil) }
        return (uri[..<mark], uri[uri.utf8.index(after: mark)...])
    }

    /// Every value of a header, joined by ", " (nil when absent). Found without building an
    /// array of the values (every request's `Authorization` is read here).
    public func header(_ name: String) -> String? {
        var found: String?
        for (field, value) in head.headers where field.utf8.count == name.utf8.count && Self.sameName(field, name) {
            found = found.map { $0 + ", " + value } ?? value
        }
        return found
    }

    /// Two header names equal in ASCII letter case.
    static func sameName(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8) { x, y in x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A) }
    }
}
