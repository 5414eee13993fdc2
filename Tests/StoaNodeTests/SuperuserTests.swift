import Foundation
import Hummingbird
import HummingbirdTesting
import StoaCore
import StoaNode
import StoaStore
import Testing

/// Issue 15: `_superusers` as PocketBase 0.23+ has them. A superuser token passes every rule of
/// the Records API; user tokens never do.
@Suite("Superusers")
struct SuperuserTests {
    /// A fresh in-memory node holding one superuser (`admin@example.com` / `admin password`).
    func withAdmin(_ body: @Sendable (API, _ adminToken: String) async throws -> Void) async throws {
        let database = try StoaDatabase.inMemory(nodeName: "n1")
        let hash = try await PasswordHasher(cost: 4).hash("admin password")
        _ = try await database.create(
            .superusers, id: "admin0000000001",
            fields: ["email": .string("admin@example.com"), "passwordHash": .string(hash), "tokenKey": .string("k1"), "verified": .bool(true)],
            unique: ["email"]
        )
        let configuration = NodeConfiguration(name: "n1", dataDirectory: "/nonexistent", httpPort: 0, tokenSecret: "test-secret", bcryptCost: 4)
        let app = try await buildApplication(configuration: configuration, database: database)
        try await app.test(.router) { client in
            let api = API(client: client)
            let auth = try await api.request(.post, "/api/collections/_superusers/auth-with-password", json: ["identity": "admin@example.com", "password": "admin password"])
            #expect(auth.status == .ok, "\(String(decoding: auth.body, as: UTF8.self))")
            #expect((auth.json["record"] as? [String: Any])?["collectionName"] as? String == "_superusers")
            #expect((auth.json["record"] as? [String: Any])?["email"] as? String == "admin@example.com")
            try await body(api, auth.json["token"] as? String ?? "")
        }
    }

    @Test("superuser sign-in: wrong password and a user's credentials are refused; refresh works")
    func signIn() async throws {
        try await withAdmin { api, admin in
            let wrong = try await api.request(.post, "/api/collections/_superusers/auth-with-password", json: ["identity": "admin@example.com", "password": "nope nope"])
            #expect(wrong.status == .badRequest)
            _ = try await api.user("alice@example.com")
            let userAsAdmin = try await api.request(.post, "/api/collections/_superusers/auth-with-password", json: ["identity": "alice@example.com", "password": "correct horse"])
            #expect(userAsAdmin.status == .badRequest)
            let adminAsUser = try await api.request(.post, "/api/collections/users/auth-with-password", json: ["identity": "admin@example.com", "password": "admin password"])
            #expect(adminAsUser.status == .badRequest)
            let refresh = try await api.request(.post, "/api/collections/_superusers/auth-refresh", token: admin)
            #expect(refresh.status == .ok)
            #expect(refresh.json["token"] as? String != nil)
            // A superuser token does not refresh as a user's.
            #expect(try await api.request(.post, "/api/collections/users/auth-refresh", token: admin).status == .unauthorized)
        }
    }

    @Test("a superuser lists, filters, sorts, views, creates, updates and deletes any quote; the owner never changes")
    func quotes() async throws {
        try await withAdmin { api, admin in
            let alice = try await api.user("alice@example.com")
            let bob = try await api.user("bob@example.com")
            for n in 0..<3 { #expect(try await api.createQuote(alice.token, ["content": "alice \(n)", "tags": ["a"]]).status == .ok) }
            let bobs = try await api.createQuote(bob.token, ["content": "bob 0", "author": "Seneca"])
            let bobQuote = bobs.json["id"] as? String ?? ""

            let all = try await api.request(.get, "/api/collections/quotes/records?sort=-userId,content", token: admin)
            #expect(all.json["totalItems"] as? Int == 4)
            let filtered = try await api.request(.get, "/api/collections/quotes/records?filter=" + "userId = \"\(bob.id)\"".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, token: admin)
            #expect(filtered.items.map { $0["content"] as? String } == ["bob 0"])
            #expect(try await api.request(.get, "/api/collections/quotes/records/\(bobQuote)", token: admin).status == .ok)
            // Users still see only their own.
            #expect(try await api.count(alice.token) == 3)
            #expect(try await api.request(.get, "/api/collections/quotes/records/\(bobQuote)", token: alice.token).status == .notFound)

            let edited = try await api.request(.patch, "/api/collections/quotes/records/\(bobQuote)", token: admin, json: ["content": "edited by support"])
            #expect(edited.status == .ok)
            #expect(edited.json["userId"] as? String == bob.id)
            let bobSees = try await api.request(.get, "/api/collections/quotes/records/\(bobQuote)", token: bob.token)
            #expect(bobSees.json["content"] as? String == "edited by support")
            let moved = try await api.request(.patch, "/api/collections/quotes/records/\(bobQuote)", token: admin, json: ["userId": alice.id])
            #expect(moved.status == .badRequest)
            #expect(moved.dataCode("userId") == "validation_invalid_value")

            let noOwner = try await api.createQuote(admin, ["content": "for whom?"])
            #expect(noOwner.status == .badRequest)
            #expect(noOwner.dataCode("userId") == "validation_required")
            let unknownOwner = try await api.createQuote(admin, ["content": "x", "userId": "nosuchuser0000"])
            #expect(unknownOwner.status == .badRequest)
            let forBob = try await api.createQuote(admin, ["content": "added by support", "userId": bob.id])
            #expect(forBob.status == .ok)
            #expect(try await api.count(bob.token) == 2)

            #expect(try await api.request(.delete, "/api/collections/quotes/records/\(bobQuote)", token: admin).status == .noContent)
            #expect(try await api.request(.get, "/api/collections/quotes/records/\(bobQuote)", token: bob.token).status == .notFound)
        }
    }

    @Test("a superuser manages users: lists them with emails, edits, sets a password (old sessions end), deletes")
    func users() async throws {
        try await withAdmin { api, admin in
            let alice = try await api.user("alice@example.com")
            _ = try await api.user("bob@example.com")
            let list = try await api.request(.get, "/api/collections/users/records?sort=email", token: admin)
            #expect(list.items.map { $0["email"] as? String } == ["alice@example.com", "bob@example.com"])
            #expect(list.items.allSatisfy { $0["passwordHash"] == nil && $0["tokenKey"] == nil })

            let edited = try await api.request(.patch, "/api/collections/users/records/\(alice.id)", token: admin, json: ["name": "Alice", "verified": true])
            #expect(edited.status == .ok)
            #expect(edited.json["verified"] as? Bool == true)
            let taken = try await api.request(.patch, "/api/collections/users/records/\(alice.id)", token: admin, json: ["email": "BOB@example.com"])
            #expect(taken.status == .badRequest)
            let mismatch = try await api.request(.patch, "/api/collections/users/records/\(alice.id)", token: admin, json: ["password": "new password 1", "passwordConfirm": "other"])
            #expect(mismatch.status == .badRequest)
            #expect(mismatch.dataCode("passwordConfirm") == "validation_values_mismatch")
            let reset = try await api.request(.patch, "/api/collections/users/records/\(alice.id)", token: admin, json: ["password": "new password 1", "passwordConfirm": "new password 1"])
            #expect(reset.status == .ok)
            #expect(try await api.request(.post, "/api/collections/users/auth-refresh", token: alice.token).status == .unauthorized)
            let signIn = try await api.request(.post, "/api/collections/users/auth-with-password", json: ["identity": "alice@example.com", "password": "new password 1"])
            #expect(signIn.status == .ok)

            for n in 0..<3 { #expect(try await api.createQuote(signIn.json["token"] as? String ?? "", ["content": "alice \(n)"]).status == .ok) }
            #expect(try await api.count(admin) == 3)
            #expect(try await api.request(.delete, "/api/collections/users/records/\(alice.id)", token: admin).status == .noContent)
            #expect(try await api.request(.get, "/api/collections/users/records", token: admin).json["totalItems"] as? Int == 1)
            #expect(try await api.count(admin) == 0, "a deleted user's quotes go with it")
        }
    }

    @Test("user tokens never pass superuser rules; a user edits only its own name, avatar and email visibility")
    func usersCannot() async throws {
        try await withAdmin { api, admin in
            let alice = try await api.user("alice@example.com")
            let bob = try await api.user("bob@example.com")
            #expect(try await api.request(.get, "/api/collections/_superusers/records", token: alice.token).status == .forbidden)
            #expect(try await api.request(.get, "/api/collections/_superusers/records").status == .forbidden)
            let create = try await api.request(.post, "/api/collections/_superusers/records", token: alice.token,
                                               json: ["email": "evil@example.com", "password": "evil password", "passwordConfirm": "evil password"])
            #expect(create.status == .forbidden)
            #expect(try await api.request(.get, "/api/collections/users/records", token: alice.token).json["totalItems"] as? Int == 1)
            #expect(try await api.request(.patch, "/api/collections/users/records/\(alice.id)", token: alice.token, json: ["name": "Al"]).status == .ok)
            let verify = try await api.request(.patch, "/api/collections/users/records/\(alice.id)", token: alice.token, json: ["verified": true])
            #expect(verify.status == .badRequest)
            #expect(verify.dataCode("verified") == "validation_forbidden")
            #expect(try await api.request(.patch, "/api/collections/users/records/\(bob.id)", token: alice.token, json: ["name": "x"]).status == .notFound)
            #expect(try await api.request(.delete, "/api/collections/users/records/\(bob.id)", token: alice.token).status == .notFound)

            // A superuser creates another; it signs in.
            let second = try await api.request(.post, "/api/collections/_superusers/records", token: admin,
                                               json: ["email": "second@example.com", "password": "second password", "passwordConfirm": "second password"])
            #expect(second.status == .ok, "\(String(decoding: second.body, as: UTF8.self))")
            let auth = try await api.request(.post, "/api/collections/_superusers/auth-with-password", json: ["identity": "second@example.com", "password": "second password"])
            #expect(auth.status == .ok)
            #expect(try await api.request(.get, "/api/collections/_superusers/records", token: admin).json["totalItems"] as? Int == 2)
        }
    }
}
