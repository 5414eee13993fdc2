import Foundation
import FuzzSupport
import StoaNode

/// Connections' bytes a gateway meets: reads and writes of records with and without a token (a
/// token signed with ``GatewayTarget/tokenSecret``, valid for a century, so the seeds reach the
/// verified-user paths), pipelined requests, chunked and `Expect` bodies, `X-Forwarded-For`
/// chains, realtime subscriptions, the gateway's own pages, and trusted-proxy blocks.
enum GatewaySeeds {
    static func all() -> [(name: String, bytes: [UInt8])] {
        let issued = blocking {
            try await TokenService(secret: GatewayTarget.tokenSecret, lifetime: 100 * 365 * 86_400)
                .issue(userID: "fuzzowner000001", collectionID: "_pb_users_auth_", now: Date(timeIntervalSince1970: 1_764_000_000))
        }
        guard case .success(let token) = issued else { fatalError("cannot issue the seed token") }
        let list = "GET /api/collections/quotes/records?page=2&perPage=5&sort=-created&filter=author~'seneca' HTTP/1.1\r\nHost: gw\r\nAuthorization: \(token)\r\n\r\n"
        let requests: [(name: String, selector: UInt8, text: String)] = [
            ("list-token", 0, list),
            ("list-bearer-xff", 1, "GET /api/collections/quotes/records?filter=a&filter=b HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer \(token)\r\nX-Forwarded-For: 198.51.100.7, 10.0.0.1\r\nX-Forwarded-For: [2001:db8::1]:443\r\n\r\n"),
            ("view-guest", 2, "GET /api/collections/quotes/records/aaaaaaaaaaaaaa1?fields=id,content HTTP/1.1\r\nHost: gw\r\nCache-Control: no-cache\r\n\r\n"),
            ("create", 3, post("/api/collections/quotes/records", "Authorization: \(token)\r\nContent-Type: application/json\r\n", #"{"id":"aaaaaaaaaaaaaa9","content":"Hi","tags":[]}"#)),
            ("update-chunked", 4, "PATCH /api/collections/quotes/records/aaaaaaaaaaaaaa1 HTTP/1.1\r\nHost: gw\r\nAuthorization: \(token)\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\n{\"a\":\r\n4\r\n\"b\"}\r\n0\r\n\r\n"),
            ("delete-v10", 5, "DELETE /api/collections/quotes/records/aaaaaaaaaaaaaa1 HTTP/1.0\r\nAuthorization: \(token)\r\nConnection: keep-alive\r\n\r\n"),
            ("realtime-subscribe", 6, post("/api/realtime", "", #"{"clientId":"n1.aaaaaaaaaaaaaa1","subscriptions":["quotes"]}"#)),
            ("realtime-connect", 7, "GET /api/realtime HTTP/1.1\r\nHost: gw\r\nAccept: text/event-stream\r\n\r\n"),
            ("pages", 0, "GET /api/gateway HTTP/1.1\r\nHost: gw\r\n\r\nGET /metrics HTTP/1.1\r\nHost: gw\r\n\r\nGET /_/ HTTP/1.1\r\nHost: gw\r\n\r\n"),
            ("pipelined", 1, String(repeating: list, count: 5)),
            ("sync", 2, post("/api/sync", "Authorization: \(token)\r\n", #"{"device":"d1","changes":[]}"#)),
            ("auth", 3, post("/api/collections/users/auth-with-password", "", #"{"identity":"a@example.com","password":"1234"}"#)),
            ("malformed-then", 4, "GET / HTTP/1.1\r\nHost: gw\r\n\r\nGET /\u{1} HTTP/9.9\r\n\r\n"),
        ]
        var seeds = requests.map { ($0.name, [$0.selector] + Array($0.text.utf8)) }
        for (index, block) in ["10.0.0.0/8", "2001:db8::/32", "::ffff:192.0.2.0/120", "192.0.2.1", "fe80::1%eth0/64"].enumerated() {
            seeds.append(("cidr-\(index)", [8] + Array(block.utf8)))
        }
        return seeds
    }

    /// A POST with `headers` (each line ending in CRLF) and `body`, its length declared.
    static func post(_ path: String, _ headers: String, _ body: String) -> String {
        "POST \(path) HTTP/1.1\r\nHost: gw\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }
}
