import Foundation
import Hummingbird
import Testing

@Suite("users: sign-up, password auth, tokens")
struct AuthTests {
    @Test("sign-up answers the user record without secrets; email only to its owner")
    func signUp() async throws {
        try await withNode { api in
            let response = try await api.request(.post, "/api/collections/users/records", json: ["email": "ann@example.com", "password": "12345678", "passwordConfirm": "12345678", "name": "Ann"])
            #expect(response.status == .ok)
            let record = response.json
            #expect(record["collectionName"] as? String == "users")
            #expect(record["collectionId"] as? String == "_pb_users_auth_")
            #expect(record["name"] as? String == "Ann")
            #expect(record["verified"] as? Bool == false)
            #expect(record["email"] == nil, "emailVisibility is false and the caller is a guest")
            #expect(record["passwordHash"] == nil && record["tokenKey"] == nil && record["password"] == nil)
            let auth = try await api.request(.post, "/api/collections/users/auth-with-password", json: ["identity": "ANN@example.com", "password": "12345678"])
            #expect(auth.status == .ok)
            #expect((auth.json["record"] as? [String: Any])?["email"] as? String == "ann@example.com")
        }
    }

    @Test("sign-up validation: field-level errors and nothing created")
    func signUpValidation() async throws {
        try await withNode { api in
            let short = try await api.request(.post, "/api/collections/users/records", json: ["email": "a@b.co", "password": "123", "passwordConfirm": "123"])
            #expect(short.status == .badRequest)
            #expect(short.message == "Failed to create record.")
            #expect(short.dataCode("password") == "validation_min_text_constraint")
            let mismatch = try await api.request(.post, "/api/collections/users/records", json: ["email": "a@b.co", "password": "12345678", "passwordConfirm": "12345679"])
            #expect(mismatch.dataCode("passwordConfirm") == "validation_values_mismatch")
            let missing = try await api.request(.post, "/api/collections/users/records", json: [String: Any]())
            #expect(missing.dataCode("email") == "validation_required")
            #expect(missing.dataCode("password") == "validation_required")
            let nul = try await api.request(.post, "/api/collections/users/records", json: ["email": "n@b.co", "password": "\u{0}12345678", "passwordConfirm": "\u{0}12345678"])
            #expect(nul.dataCode("password") == "validation_invalid_format")
            let badEmail = try await api.request(.post, "/api/collections/users/records", json: ["email": "not-an-email", "password": "12345678", "passwordConfirm": "12345678"])
            #expect(badEmail.dataCode("email") == "validation_is_email")
            _ = try await api.user("a@b.co")
            let duplicate = try await api.request(.post, "/api/collections/users/records", json: ["email": "A@B.co", "password": "12345678", "passwordConfirm": "12345678"])
            #expect(duplicate.status == .badRequest)
            #expect(duplicate.dataCode("email") == "validation_not_unique")
        }
    }

    @Test("wrong password or unknown email: 400 Failed to authenticate.")
    func wrongPassword() async throws {
        try await withNode { api in
            _ = try await api.user("a@b.co", password: "12345678")
            for (identity, password) in [("a@b.co", "wrong-password"), ("nobody@b.co", "12345678")] {
                let response = try await api.request(.post, "/api/collections/users/auth-with-password", json: ["identity": identity, "password": password])
                #expect(response.status == .badRequest)
                #expect(response.message == "Failed to authenticate.")
            }
        }
    }

    @Test("tokens are HS256 JWTs with PocketBase's claims, accepted with or without Bearer")
    func tokens() async throws {
        try await withNode { api in
            let (id, token) = try await api.user("a@b.co")
            let parts = token.split(separator: ".")
            #expect(parts.count == 3)
            func decode(_ part: Substring) -> [String: Any] {
                var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                while text.count % 4 != 0 { text += "=" }
                return (try? JSONSerialization.jsonObject(with: Data(base64Encoded: text) ?? Data())) as? [String: Any] ?? [:]
            }
            #expect(decode(parts[0])["alg"] as? String == "HS256")
            let claims = decode(parts[1])
            #expect(claims["id"] as? String == id)
            #expect(claims["type"] as? String == "auth")
            #expect(claims["collectionId"] as? String == "_pb_users_auth_")
            #expect(claims["refreshable"] as? Bool == true)
            let exp = try #require(claims["exp"] as? Double)
            #expect(exp == exp.rounded() && exp > Date().timeIntervalSince1970 + 431_000)

            for header in [token, "Bearer \(token)", "bearer \(token)"] {
                let refreshed = try await api.request(.post, "/api/collections/users/auth-refresh", token: header)
                #expect(refreshed.status == .ok)
                #expect((refreshed.json["record"] as? [String: Any])?["id"] as? String == id)
                #expect(refreshed.json["token"] is String)
            }
            // Guest, empty header, forged signature, garbage: 401 on auth-refresh.
            let forged = parts[0] + "." + parts[1] + "." + String(parts[2].reversed())
            for header in [nil, "", "Bearer ", forged, "garbage"] as [String?] {
                let response = try await api.request(.post, "/api/collections/users/auth-refresh", token: header)
                #expect(response.status == .unauthorized)
                #expect(response.message == "The request requires valid record authorization token.")
            }
        }
    }

    @Test("a user sees only their own user record")
    func ownUser() async throws {
        try await withNode { api in
            let ann = try await api.user("ann@b.co")
            let bob = try await api.user("bob@b.co")
            #expect(try await api.request(.get, "/api/collections/users/records/\(ann.id)", token: ann.token).status == .ok)
            #expect(try await api.request(.get, "/api/collections/users/records/\(ann.id)", token: bob.token).status == .notFound)
            let list = try await api.request(.get, "/api/collections/users/records", token: bob.token)
            #expect(list.items.map { $0["id"] as? String } == [bob.id])
        }
    }
}
