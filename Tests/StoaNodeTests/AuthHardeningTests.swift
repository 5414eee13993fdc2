import Foundation
import Hummingbird
import Testing
@testable import StoaNode

/// Issue 18, item 10: login accepted `password\0junk` and anything after byte 72 (bcrypt reads
/// a C string of at most 72 bytes); nothing limited password guessing on a node reached directly.
@Suite("Login hardening")
struct AuthHardeningTests {
    func login(_ api: API, _ identity: String, _ password: String) async throws -> APIResponse {
        try await api.request(.post, "/api/collections/users/auth-with-password", json: ["identity": identity, "password": password])
    }

    @Test("a password with a NUL or past bcrypt's 72 bytes never logs in, with the same answer as a wrong password")
    func truncatedPasswords() async throws {
        try await withNode { api in
            let password = String(repeating: "p", count: 72)
            _ = try await api.user("a@b.co", password: password)
            #expect(try await login(api, "a@b.co", password).status == .ok)
            for attempt in [password + "junk", password + "\u{0}", "p\u{0}junk"] {
                let response = try await login(api, "a@b.co", attempt)
                #expect(response.status == .badRequest && response.message == "Failed to authenticate.", "\(attempt.debugDescription)")
            }
            _ = try await api.user("c@d.co", password: "12345678")
            #expect(try await login(api, "c@d.co", "12345678\u{0}junk").message == "Failed to authenticate.")
        }
    }

    @Test("failed logins for one email are refused with 429 and Retry-After past the limit; other emails are unaffected")
    func failedLoginThrottle() async throws {
        // The throttle's clock stands still: a slow machine cannot refill the budget mid-test.
        try await withNode(loginThrottleClock: { 1_000_000_000_000 }) { api in
            _ = try await api.user("victim@b.co", password: "12345678")
            _ = try await api.user("other@b.co", password: "12345678")
            for _ in 0..<10 { #expect(try await login(api, "victim@b.co", "wrong-guess").status == .badRequest) }
            let refused = try await login(api, "VICTIM@b.co", "12345678")
            #expect(refused.status == .tooManyRequests && refused.json["status"] as? Int == 429)
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(try await login(api, "other@b.co", "12345678").status == .ok)
        }
    }

    @Test("the throttle's budget refills at its rate and successful logins cost nothing")
    func throttleRefills() {
        let now = NowBox()
        let throttle = LoginThrottle(burst: 2, perMinute: 6, clock: { now.value })
        #expect(throttle.refusal(for: "x") == nil)
        throttle.failed("x")
        throttle.failed("X")
        #expect(throttle.refusal(for: "x") == 10, "one more every 10 s")
        now.value += 10_000_000_000
        #expect(throttle.refusal(for: "x") == nil)
    }

    @Test("password work past the bound is refused at once with 429")
    func passwordWorkBound() async throws {
        let hasher = PasswordHasher(cost: 12, maxPending: 1)
        async let slow = hasher.hash("first password")
        try await Task.sleep(for: .milliseconds(20))
        await #expect(throws: PBError.self) { _ = try await hasher.hash("second password") }
        _ = try await slow
        #expect(try await hasher.hash("third") .isEmpty == false, "free again once the first finished")
    }
}

/// A clock value tests move by hand.
final class NowBox: @unchecked Sendable {
    var value: UInt64 = 1_000_000_000_000
}
