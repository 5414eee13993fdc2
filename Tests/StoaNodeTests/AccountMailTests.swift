import Foundation
import Hummingbird
import HummingbirdTesting
import StoaCore
import StoaStore
import Synchronization
import Testing
@testable import StoaNode

/// A mail sink for tests: keeps what it is given.
final class RecordingMailSender: MailSender {
    private let sent = Mutex<[MailMessage]>([])

    func send(_ message: MailMessage) async throws { sent.withLock { $0.append(message) } }

    var messages: [MailMessage] { sent.withLock { $0 } }

    /// The messages to `address` once there are `count` of them (waits up to 5 s).
    func messages(to address: String, count: Int = 1) async throws -> [MailMessage] {
        for _ in 0..<500 {
            let found = messages.filter { $0.to == address }
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("no mail to \(address)")
        return []
    }

    /// The token in the link of a mail (`#token=...`).
    static func token(in message: MailMessage) -> String {
        guard let range = message.text.range(of: #"#token=[A-Za-z0-9_.\-]+"#, options: .regularExpression) else { return "" }
        return String(message.text[range].dropFirst("#token=".count))
    }
}

/// A live in-memory node whose account mail goes to `sender` (nil: mail not configured).
func withMailNode(
    name: String = "n1", sender: RecordingMailSender?, loginThrottleClock: (@Sendable () -> UInt64)? = nil,
    _ body: @Sendable (API, StoaDatabase) async throws -> Void
) async throws {
    let database = try StoaDatabase.inMemory(nodeName: name)
    try await withMailNode(database: database, sender: sender, loginThrottleClock: loginThrottleClock) { api in try await body(api, database) }
}

func withMailNode(
    database: StoaDatabase, sender: RecordingMailSender?, loginThrottleClock: (@Sendable () -> UInt64)? = nil,
    _ body: @Sendable (API) async throws -> Void
) async throws {
    var configuration = NodeConfiguration(
        name: "n", dataDirectory: "/nonexistent", httpPort: 0, maxBodyBytes: 64 * 1024, tokenSecret: "test-secret", bcryptCost: 4
    )
    configuration.mailSender = sender
    configuration.loginThrottleClock = loginThrottleClock
    configuration.publicURL = "https://quotes.example.com/"
    // A node alone compacts everything it holds every 10 s; these tests copy changes between
    // nodes through the log (`replicate`), so none may compact while one runs (a loaded CI
    // machine stretched one to 42 s, and the change to copy had left the log).
    configuration.compactionIntervalMillis = 3_600_000
    let app = try await buildApplication(configuration: configuration, database: database)
    try await app.test(.live) { client in try await body(API(client: client)) }
}

extension API {
    func status(_ uri: String, token: String? = nil, _ json: [String: Any]) async throws -> APIResponse {
        try await request(.post, "/api/collections/users/\(uri)", token: token, json: json)
    }

    func login(_ email: String, _ password: String) async throws -> APIResponse {
        try await request(.post, "/api/collections/users/auth-with-password", json: ["identity": email, "password": password])
    }

    /// True when `token` is accepted (auth-refresh answers 200).
    func accepts(_ token: String) async throws -> Bool {
        try await request(.post, "/api/collections/users/auth-refresh", token: token).status == .ok
    }
}

/// Copies every change `from` has and `to` lacks (one replication round, both ways when asked).
func replicate(_ from: StoaDatabase, to: StoaDatabase) async throws {
    _ = try await to.apply(remote: from.changes(notIn: to.versionVector(), limit: .max))
}

@Suite("account mail: password reset, verification, email change")
struct AccountMailTests {
    @Test("without mail configured the request endpoints answer 400 saying so; the confirm endpoints still check tokens")
    func notConfigured() async throws {
        try await withMailNode(sender: nil) { api, _ in
            let user = try await api.user("ann@example.com")
            for (uri, body, token) in [
                ("request-password-reset", ["email": "ann@example.com"], nil),
                ("request-verification", ["email": "ann@example.com"], nil),
                ("request-email-change", ["newEmail": "new@example.com"], user.token),
            ] as [(String, [String: Any], String?)] {
                let response = try await api.status(uri, token: token, body)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(response.message?.contains("Mail is not configured") == true, "\(uri): \(response.message ?? "")")
            }
            let confirm = try await api.status("confirm-password-reset", ["token": "x", "password": "12345678", "passwordConfirm": "12345678"])
            #expect(confirm.status == .badRequest)
            #expect(confirm.dataCode("token") == "validation_invalid_token")
        }
    }

    @Test("password reset: 204 for known and unknown emails, one mail with a link to the node's page; the token sets the password once, and the user's older auth tokens are refused")
    func passwordReset() async throws {
        let sink = RecordingMailSender()
        try await withMailNode(sender: sink) { api, _ in
            let ann = try await api.user("ann@example.com", password: "old password")
            #expect(try await api.status("request-password-reset", ["email": "nobody@example.com"]).status == .noContent)
            #expect(try await api.status("request-password-reset", ["email": "ANN@example.com"]).status == .noContent)
            let mail = try await sink.messages(to: "ann@example.com")
            #expect(mail.first?.text.contains("https://quotes.example.com/auth/confirm-password-reset#token=") == true)
            let token = RecordingMailSender.token(in: try #require(mail.first))
            // A second request within two minutes sends nothing more (PocketBase's resend guard).
            #expect(try await api.status("request-password-reset", ["email": "ann@example.com"]).status == .noContent)
            try await Task.sleep(for: .milliseconds(100))
            #expect(sink.messages.count == 1, "only Ann's first request sends mail")

            let mismatch = try await api.status("confirm-password-reset", ["token": token, "password": "new password", "passwordConfirm": "other password"])
            #expect(mismatch.status == .badRequest)
            #expect(mismatch.dataCode("passwordConfirm") == "validation_values_mismatch")
            let short = try await api.status("confirm-password-reset", ["token": token, "password": "short", "passwordConfirm": "short"])
            #expect(short.dataCode("password") == "validation_min_text_constraint")
            #expect(try await api.accepts(ann.token), "failed confirms change nothing")

            let confirmed = try await api.status("confirm-password-reset", ["token": token, "password": "new password", "passwordConfirm": "new password"])
            #expect(confirmed.status == .noContent, "\(String(decoding: confirmed.body, as: UTF8.self))")
            #expect(try await api.login("ann@example.com", "new password").status == .ok)
            #expect(try await api.login("ann@example.com", "old password").status == .badRequest)
            #expect(try await !api.accepts(ann.token), "the auth token issued before the reset is refused")
            let again = try await api.status("confirm-password-reset", ["token": token, "password": "third password", "passwordConfirm": "third password"])
            #expect(again.status == .badRequest)
            #expect(again.message == "An error occurred while validating the submitted data.")
            #expect(again.dataCode("token") == "validation_invalid_token", "a used token is refused")
            let me = try await api.login("ann@example.com", "new password")
            #expect((me.json["record"] as? [String: Any])?["verified"] as? Bool == true, "the reset mail proved the address")
        }
    }

    @Test("confirm-password-reset refuses missing, forged, expired and wrong-kind tokens with PocketBase's field errors")
    func badTokens() async throws {
        let sink = RecordingMailSender()
        try await withMailNode(sender: sink) { api, database in
            let ann = try await api.user("ann@example.com")
            let record = try #require(try await database.record(.users, id: ann.id, owner: nil))
            let service = await TokenService(secret: "test-secret")
            let expired = try await service.issue(
                .passwordReset, userID: ann.id, collectionID: "_pb_users_auth_", email: "ann@example.com", tokenKey: record.text("tokenKey"),
                now: Date().addingTimeInterval(-1801)
            )
            let verification = try await service.issue(
                .verification, userID: ann.id, collectionID: "_pb_users_auth_", email: "ann@example.com", tokenKey: record.text("tokenKey")
            )
            let forged = try await TokenService(secret: "another secret").issue(
                .passwordReset, userID: ann.id, collectionID: "_pb_users_auth_", email: "ann@example.com", tokenKey: record.text("tokenKey")
            )
            let missing = try await api.status("confirm-password-reset", [:])
            #expect(missing.dataCode("token") == "validation_required")
            #expect(missing.dataCode("password") == "validation_required")
            for token in [expired, verification, forged, ann.token, "garbage"] {
                let response = try await api.status("confirm-password-reset", ["token": token, "password": "new password", "passwordConfirm": "new password"])
                #expect(response.status == .badRequest)
                #expect(response.dataCode("token") == "validation_invalid_token")
            }
            #expect(try await api.login("ann@example.com", "correct horse").status == .ok)
            let request = try await api.status("request-password-reset", ["email": "not an email"])
            #expect(request.dataCode("email") == "validation_is_email")
        }
    }

    @Test("verification: the mail's token sets verified; a verified user gets no more mail")
    func verification() async throws {
        let sink = RecordingMailSender()
        try await withMailNode(sender: sink) { api, _ in
            let ann = try await api.user("ann@example.com")
            #expect(try await api.status("request-verification", ["email": "ann@example.com"]).status == .noContent)
            #expect(try await api.status("request-verification", ["email": "bob@example.com"]).status == .noContent)
            let mail = try #require(try await sink.messages(to: "ann@example.com").first)
            #expect(mail.text.contains("/auth/confirm-verification#token="))
            let token = RecordingMailSender.token(in: mail)
            let wrongKind = try await api.status("confirm-password-reset", ["token": token, "password": "new password", "passwordConfirm": "new password"])
            #expect(wrongKind.dataCode("token") == "validation_invalid_token")
            #expect(try await api.status("confirm-verification", ["token": token]).status == .noContent)
            let view = try await api.request(.get, "/api/collections/users/records/\(ann.id)", token: ann.token)
            #expect(view.json["verified"] as? Bool == true)
            #expect(try await api.accepts(ann.token), "verification does not sign the user out")
            #expect(try await api.status("confirm-verification", ["token": "garbage"]).dataCode("token") == "validation_invalid_token")
            #expect(try await api.status("request-verification", ["email": "ann@example.com"]).status == .noContent)
            try await Task.sleep(for: .milliseconds(100))
            #expect(sink.messages.count == 1)
        }
    }

    @Test("email change: auth required, a taken address refused at request and at confirm, the password checked; the change signs the user out and frees the old address")
    func emailChange() async throws {
        let sink = RecordingMailSender()
        try await withMailNode(sender: sink) { api, _ in
            let ann = try await api.user("ann@example.com")
            _ = try await api.user("bob@example.com")
            #expect(try await api.status("request-email-change", ["newEmail": "ann2@example.com"]).status == .unauthorized)
            let taken = try await api.status("request-email-change", token: ann.token, ["newEmail": "BOB@example.com"])
            #expect(taken.status == .badRequest)
            #expect(taken.dataCode("newEmail") == "validation_invalid_new_email")
            #expect(try await api.status("request-email-change", token: ann.token, ["newEmail": "ann@example.com"]).dataCode("newEmail") == "validation_not_in_invalid")

            #expect(try await api.status("request-email-change", token: ann.token, ["newEmail": "ann2@example.com"]).status == .noContent)
            #expect(try await api.status("request-email-change", token: ann.token, ["newEmail": "carol@example.com"]).status == .noContent)
            let again = try await api.status("request-email-change", token: ann.token, ["newEmail": "ANN2@example.com"])
            #expect(again.status == .tooManyRequests, "one mail per account and new address per 2 minutes: the endpoint cannot flood an address")
            let toAnn2 = RecordingMailSender.token(in: try #require(try await sink.messages(to: "ann2@example.com").first))
            let toCarol = RecordingMailSender.token(in: try #require(try await sink.messages(to: "carol@example.com").first))
            #expect(sink.messages.allSatisfy { $0.to != "ann@example.com" }, "the mail goes to the new address")

            let wrongPassword = try await api.status("confirm-email-change", ["token": toAnn2, "password": "wrong password"])
            #expect(wrongPassword.status == .badRequest)
            #expect(wrongPassword.dataCode("password") == "validation_invalid_password")
            // Carol signs up with the address meanwhile: the change to it is refused at confirm.
            _ = try await api.user("carol@example.com")
            let takenLater = try await api.status("confirm-email-change", ["token": toCarol, "password": "correct horse"])
            #expect(takenLater.status == .badRequest)
            #expect(takenLater.dataCode("token") == "validation_invalid_token_email")

            #expect(try await api.status("confirm-email-change", ["token": toAnn2, "password": "correct horse"]).status == .noContent)
            #expect(try await !api.accepts(ann.token), "the change signs the user out everywhere")
            let login = try await api.login("ann2@example.com", "correct horse")
            #expect(login.status == .ok)
            #expect((login.json["record"] as? [String: Any])?["verified"] as? Bool == true)
            #expect(try await api.login("ann@example.com", "correct horse").status == .badRequest)
            #expect(try await api.status("confirm-email-change", ["token": toAnn2, "password": "correct horse"]).dataCode("token") != nil, "used once")
            // The old address is free again.
            _ = try await api.user("ann@example.com", password: "another one")
        }
    }

    @Test("confirm-email-change: wrong passwords count as failed logins of the account, and are slowed down as they are")
    func emailChangeGuessing() async throws {
        let sink = RecordingMailSender()
        // The throttle's clock stands still: the budget cannot refill however slow the machine.
        try await withMailNode(sender: sink, loginThrottleClock: { 1_000_000_000_000 }) { api, _ in
            let dan = try await api.user("dan@example.com")
            #expect(try await api.status("request-email-change", token: dan.token, ["newEmail": "dan2@example.com"]).status == .noContent)
            let token = RecordingMailSender.token(in: try #require(try await sink.messages(to: "dan2@example.com").first))
            var statuses: [HTTPResponse.Status] = []
            for attempt in 0..<11 {
                statuses.append(try await api.status("confirm-email-change", ["token": token, "password": "guess \(attempt)"]).status)
            }
            #expect(statuses == Array(repeating: .badRequest, count: 10) + [.tooManyRequests], "the login throttle's burst (10) is spent: \(statuses)")
            let refused = try await api.status("confirm-email-change", ["token": token, "password": "correct horse"])
            #expect(refused.status == .tooManyRequests, "even the right password waits, as a login would")
            #expect(try await api.login("dan@example.com", "correct horse").status == .tooManyRequests, "the same identity's logins are slowed down too")
        }
    }

    @Test("across nodes: the request on one node, the confirm on another, the old token refused on both once the edit replicates")
    func twoNodes() async throws {
        let sink = RecordingMailSender()
        let n1 = try StoaDatabase.inMemory(nodeName: "n1")
        let n2 = try StoaDatabase.inMemory(nodeName: "n2")
        try await withMailNode(database: n1, sender: sink) { api1 in
            try await withMailNode(database: n2, sender: sink) { api2 in
                let ann = try await api1.user("ann@example.com", password: "old password")
                try await replicate(n1, to: n2)
                #expect(try await api2.accepts(ann.token), "an auth token works on every node")
                #expect(try await api1.status("request-password-reset", ["email": "ann@example.com"]).status == .noContent)
                let token = RecordingMailSender.token(in: try #require(try await sink.messages(to: "ann@example.com").first))
                let confirmed = try await api2.status("confirm-password-reset", ["token": token, "password": "new password", "passwordConfirm": "new password"])
                #expect(confirmed.status == .noContent)
                #expect(try await !api2.accepts(ann.token))
                #expect(try await api1.accepts(ann.token), "n1 has not seen the change yet")
                try await replicate(n2, to: n1)
                #expect(try await !api1.accepts(ann.token), "the replicated token key refuses the old token on n1, cached or not")
                #expect(try await api1.login("ann@example.com", "new password").status == .ok)
                let again = try await api1.status("confirm-password-reset", ["token": token, "password": "third password", "passwordConfirm": "third password"])
                #expect(again.dataCode("token") == "validation_invalid_token", "used on n2, refused on n1")
            }
        }
    }

    @Test("the confirm page is served for each link, with its script and a strict policy")
    func page() async throws {
        try await withNode { api in
            for name in ["confirm-password-reset", "confirm-verification", "confirm-email-change"] {
                let page = try await api.request(.get, "/auth/\(name)")
                #expect(page.status == .ok)
                #expect(String(decoding: page.body, as: UTF8.self).contains("/auth/account.js"))
                #expect(String(describing: page.headers).contains("script-src 'self'"))
            }
            let script = try await api.request(.get, "/auth/account.js")
            #expect(String(decoding: script.body, as: UTF8.self).contains("/api/collections/users/"))
        }
    }
}

@Suite("token keys and action tokens")
struct TokenKeyTests {
    @Test("a token is accepted while its user's token key is unchanged; a change forgets the cached token")
    func rotation() async throws {
        let key = Mutex("first key")
        let service = await TokenService(secret: "s") { _, _ in key.withLock { $0 } }
        let token = try await service.issue(userID: "u1", collectionID: "c", tokenKey: "first key")
        #expect(await service.identity(fromAuthorization: token)?.userID == "u1")
        #expect(service.verified.count == 1)
        key.withLock { $0 = "second key" }
        #expect(await service.identity(fromAuthorization: token) != nil, "cached until the user changes")
        service.forgetTokens(ofUser: "u1")
        #expect(await service.identity(fromAuthorization: token) == nil)
        let unknown = await TokenService(secret: "s") { _, _ in nil }
        #expect(await unknown.identity(fromAuthorization: token)?.userID == "u1", "a user not replicated here yet: the signature decides")
        let failing = await TokenService(secret: "s") { _, _ in throw CancellationError() }
        #expect(await failing.identity(fromAuthorization: token) == nil, "a failed lookup refuses")
        let gateway = await TokenService(secret: "s")
        #expect(await gateway.identity(fromAuthorization: token)?.userID == "u1", "without a lookup the signature decides")
    }

    @Test("a connection's kept token answers its repeated header until the token expires or a user changes; another header is looked up")
    func keptToken() async throws {
        let service = await TokenService(secret: "s")
        let token = try await service.issue(userID: "u1", collectionID: "c")
        let other = try await service.issue(userID: "u2", collectionID: "c")
        var kept: RememberedToken?
        #expect(service.rememberedIdentity(fromAuthorization: token, kept: &kept) == nil, "never verified: not known")
        #expect(kept == nil)
        _ = await service.identity(fromAuthorization: token)
        _ = await service.identity(fromAuthorization: other)
        #expect(service.rememberedIdentity(fromAuthorization: "Bearer " + token, kept: &kept)?.userID == "u1")
        #expect(kept?.header == "Bearer " + token)
        #expect(service.rememberedIdentity(fromAuthorization: "Bearer " + token, kept: &kept)?.userID == "u1", "the repeated header")
        #expect(service.rememberedIdentity(fromAuthorization: other, kept: &kept)?.userID == "u2", "another header is not the kept one")
        #expect(kept?.identity.userID == "u2")
        let expired = Date().addingTimeInterval(service.lifetime + 60)
        #expect(service.rememberedIdentity(fromAuthorization: other, now: expired, kept: &kept) == nil, "an expired token is not kept")
        _ = await service.identity(fromAuthorization: other)
        #expect(service.rememberedIdentity(fromAuthorization: other, kept: &kept)?.userID == "u2")
        #expect(kept != nil)
        service.forgetTokens(ofUser: "u2")
        #expect(service.rememberedIdentity(fromAuthorization: other, kept: &kept) == nil, "a user change ends what was kept")
        #expect(kept == nil)
    }

    @Test("a verification that read the key before a change is not remembered")
    func epoch() {
        let cache = VerifiedTokenCache()
        let identity = AuthIdentity(userID: "u", collectionID: "c", refreshable: true)
        let before = cache.epoch
        cache.forget(userID: "other")
        cache.remember("t", identity: identity, expires: Date().addingTimeInterval(60), ifEpoch: before)
        #expect(cache.count == 0)
        cache.remember("t", identity: identity, expires: Date().addingTimeInterval(60), ifEpoch: cache.epoch)
        #expect(cache.count == 1)
    }

    @Test("action tokens: kind, expiry and key are checked")
    func actions() async throws {
        let service = await TokenService(secret: "s")
        let token = try await service.issue(.emailChange, userID: "u", collectionID: "c", email: "a@b.co", newEmail: "n@b.co", tokenKey: "k")
        let claims = try #require(await service.verify(token, as: .emailChange))
        #expect(claims.newEmail == "n@b.co" && claims.email == "a@b.co")
        #expect(TokenService.matches(claims, tokenKey: "k") && !TokenService.matches(claims, tokenKey: "k2"))
        #expect(await service.verify(token, as: .passwordReset) == nil)
        #expect(await service.verify(token, as: .emailChange, now: Date().addingTimeInterval(1801)) == nil)
    }

    @Test("a mail renders as base64 text with an encoded subject")
    func rendering() {
        let text = MailMessage(to: "a@b.co", subject: "Réinitialiser", text: "line\n.dot\n").rendered(from: "Stoa <no-reply@b.co>", date: Date(timeIntervalSince1970: 0), messageID: "x@b.co")
        #expect(text.contains("Subject: =?UTF-8?B?"))
        #expect(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
        #expect(text.contains("Content-Transfer-Encoding: base64\r\n\r\n" + Data("line\r\n.dot\r\n".utf8).base64EncodedString()))
        #expect(SMTPConfiguration(host: "h", from: "Stoa <no-reply@b.co>").fromAddress == "no-reply@b.co")
        #expect(!SMTPMailSender.isSendable("a>b@c.d") && !SMTPMailSender.isSendable("a b@c.d") && SMTPMailSender.isSendable("a@b.co"))
    }
}
