import Foundation
import Testing
@testable import StoaNode

@Suite("token verification and its cache")
struct TokenServiceTests {
    @Test("a verified token is remembered until its expiry; forged and expired tokens are refused and not remembered")
    func cache() async throws {
        let service = await TokenService(secret: "test-secret", lifetime: 3600)
        let now = Date()
        let token = try await service.issue(userID: "user00000000001", collectionID: "_pb_users_auth_", now: now)
        let identity = await service.identity(fromAuthorization: " Bearer \(token)\t", now: now)
        #expect(identity?.userID == "user00000000001")
        #expect(service.verified.count == 1)
        // Hits answer the same identity, whatever the header's form.
        #expect(await service.identity(fromAuthorization: token, now: now) == identity)
        #expect(service.verified.count == 1)
        // A remembered token still expires: past its exp it is refused (and forgotten).
        #expect(await service.identity(fromAuthorization: token, now: now.addingTimeInterval(3601)) == nil)
        #expect(service.verified.count == 0)

        let parts = token.split(separator: ".")
        let forged = parts[0] + "." + parts[1] + "." + String(parts[2].reversed())
        for header in [forged, "garbage", "", "Bearer ", String(repeating: "a", count: 5000)] {
            #expect(await service.identity(fromAuthorization: header, now: now) == nil)
        }
        #expect(service.verified.count == 0)
        let other = await TokenService(secret: "another-secret")
        #expect(await other.identity(fromAuthorization: token, now: now) == nil, "a token signed with another secret")
    }

    @Test("the token of an Authorization value: with or without Bearer (any case), blanks around it trimmed; none when empty or over 4096 bytes")
    func tokenFromAuthorization() {
        let cases: [(String?, String?)] = [
            ("Bearer abc.def", "abc.def"), ("bearer abc", "abc"), ("BeArEr \t abc \t", "abc"), (" \tabc  ", "abc"),
            ("abc", "abc"), ("Bearer ü.é", "ü.é"), ("Bearer", "Bearer"), ("Bearerabc", "Bearerabc"), ("Bearer\tabc", "Bearer\tabc"),
            ("", nil), ("  \t ", nil), ("Bearer    ", "Bearer"), (nil, nil),
            ("Bearer " + String(repeating: "a", count: 4096), String(repeating: "a", count: 4096)),
            ("Bearer " + String(repeating: "a", count: 4097), nil),
        ]
        for (header, token) in cases {
            #expect(TokenService.token(fromAuthorization: header) == token, "\(String(describing: header).prefix(40))")
        }
    }

    @Test("the cache is bounded: it is emptied when full")
    func bounded() {
        let cache = VerifiedTokenCache(capacity: 3)
        let identity = AuthIdentity(userID: "u", collectionID: "c", refreshable: true)
        let later = Date().addingTimeInterval(60)
        for index in 0..<10 { cache.remember("t\(index)", identity: identity, expires: later, ifEpoch: cache.epoch) }
        #expect(cache.count <= 3)
        #expect(cache.identity(of: "t9", now: Date()) == identity)
    }
}
