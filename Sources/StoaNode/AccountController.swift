import Foundation
import Hummingbird
import StoaCore
import StoaStore
import Synchronization

/// PocketBase's account-mail endpoints of the `users` collection: password reset, email
/// verification and email change, each a request (which mails a one-time token) and a confirm
/// (which takes it).
///
/// Requests answer 204 before any mail is sent and whether or not the email belongs to an
/// account (``MailQueue`` sends in the background); a node without mail configured answers 400.
/// A token is a JWT signed with the cluster's token secret and bound to the user's `tokenKey`
/// and email (``TokenService``), so any node can confirm it, and it stops working once it has
/// been used: a password reset and an email change rotate the user's `tokenKey` (which also
/// refuses the user's older auth tokens everywhere), an email change changes the email the
/// token names. The edits are ordinary user-record edits and replicate as such.
struct AccountController<Repository: RecordRepository>: Sendable {
    let repository: Repository
    let tokens: TokenService
    let passwords: PasswordHasher
    /// The login throttle: a confirm-email-change checks the user's password, so its failures
    /// count (and are refused) as failed logins of that account.
    let loginThrottle: LoginThrottle
    /// Nil when the node has no mail configured.
    let mail: MailQueue?
    let links: AccountLinks
    let resends = ResendLimiter()
    let schema = CollectionSchema.users

    static var validationMessage: String { "An error occurred while validating the submitted data." }
    static var invalidToken: PBError.FieldError { .init(code: "validation_invalid_token", message: "Invalid or expired token.") }

    func addRoutes(to group: RouterGroup<StoaRequestContext>) {
        group.post("request-password-reset", use: requestPasswordReset)
        group.post("confirm-password-reset", use: confirmPasswordReset)
        group.post("request-verification", use: requestVerification)
        group.post("confirm-verification", use: confirmVerification)
        group.post("request-email-change", use: requestEmailChange)
        group.post("confirm-email-change", use: confirmEmailChange)
    }

    // MARK: - Password reset

    @Sendable func requestPasswordReset(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let mail = try requireMail()
        let email = try Self.email(in: try await body(request, context), field: "email")
        if let user = try await repository.user(email: email), user.text("email").caseInsensitiveCompare(email) == .orderedSame,
           resends.allow(.passwordReset, userID: user.id) {
            let token = try await tokens.issue(
                .passwordReset, userID: user.id, collectionID: schema.id, email: user.text("email"), tokenKey: user.text("tokenKey")
            )
            // A mail the full queue dropped does not hold the account's next request back.
            if !mail.post(links.mail(.passwordReset, to: user.text("email"), token: token)) { resends.forget(.passwordReset, userID: user.id) }
        }
        return Response(status: .noContent)
    }

    @Sendable func confirmPasswordReset(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let object = try await body(request, context)
        var errors: [String: PBError.FieldError] = [:]
        let found = try await user(forToken: object["token"], as: .passwordReset, errors: &errors)
        var password = ""
        switch UsersController<Repository>.checkPassword(object["password"]) {
        case .success(let text): password = text
        case .failure(let error): errors["password"] = error
        }
        if errors["password"] == nil, object["passwordConfirm"] != .string(password) {
            errors["passwordConfirm"] = object["passwordConfirm"].map { _ in .init(code: "validation_values_mismatch", message: "Values don't match.") } ?? .required
        }
        guard let (user, claims) = found, errors.isEmpty else { throw PBError.badRequest(Self.validationMessage, data: errors) }
        var fields: [String: FieldValue] = [
            "passwordHash": .string(try await passwords.hash(password)),
            "tokenKey": .string(TokenService.newTokenKey()),
        ]
        // As PocketBase: the mail reached the address, so it is verified (unless it changed since).
        if user.values["verified"] != .bool(true), claims.email == user.text("email") { fields["verified"] = .bool(true) }
        try await save(user, fields, failure: "Failed to set new password.")
        return Response(status: .noContent)
    }

    // MARK: - Verification

    @Sendable func requestVerification(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let mail = try requireMail()
        let email = try Self.email(in: try await body(request, context), field: "email")
        if let user = try await repository.user(email: email), user.text("email").caseInsensitiveCompare(email) == .orderedSame,
           user.values["verified"] != .bool(true), resends.allow(.verification, userID: user.id) {
            let token = try await tokens.issue(
                .verification, userID: user.id, collectionID: schema.id, email: user.text("email"), tokenKey: user.text("tokenKey")
            )
            if !mail.post(links.mail(.verification, to: user.text("email"), token: token)) { resends.forget(.verification, userID: user.id) }
        }
        return Response(status: .noContent)
    }

    @Sendable func confirmVerification(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let object = try await body(request, context)
        var errors: [String: PBError.FieldError] = [:]
        guard let (user, _) = try await user(forToken: object["token"], as: .verification, errors: &errors) else {
            throw PBError.badRequest(Self.validationMessage, data: errors)
        }
        // Already verified: nothing to do, and nothing else this token can do (PocketBase: 204).
        if user.values["verified"] != .bool(true) {
            try await save(user, ["verified": .bool(true)], failure: "An error occurred while saving the verified state.")
        }
        return Response(status: .noContent)
    }

    // MARK: - Email change

    @Sendable func requestEmailChange(_ request: Request, context: StoaRequestContext) async throws -> Response {
        guard let identity = context.identity, identity.collectionID == schema.id,
              let user = try await repository.record(schema, id: identity.userID, owner: nil)
        else { throw PBError(.unauthorized, "The request requires valid auth record.") }
        let mail = try requireMail()
        let newEmail = try Self.email(in: try await body(request, context), field: "newEmail")
        if newEmail.caseInsensitiveCompare(user.text("email")) == .orderedSame {
            throw PBError.badRequest(Self.validationMessage, data: ["newEmail": .init(code: "validation_not_in_invalid", message: "Must differ from the current email.")])
        }
        if try await isTaken(newEmail, by: user.id) {
            throw PBError.badRequest(Self.validationMessage, data: ["newEmail": Self.emailTaken])
        }
        // One mail per account and new address per interval, as for resets: a signed-in user
        // cannot use the endpoint to flood an address (a mistyped address can be corrected at
        // once). The volume of requests is the gateway's `auth` rate-limit policy's to bound.
        let resendKey = user.id + ":" + newEmail.lowercased()
        guard resends.allow(.emailChange, userID: resendKey) else {
            var error = PBError(.tooManyRequests, "An email change was requested for this account moments ago. Wait before asking again.")
            error.headers[.retryAfter] = String(Int(resends.interval))
            throw error
        }
        let token = try await tokens.issue(
            .emailChange, userID: user.id, collectionID: schema.id, email: user.text("email"), newEmail: newEmail, tokenKey: user.text("tokenKey")
        )
        if !mail.post(links.mail(.emailChange, to: newEmail, token: token, newEmail: newEmail)) {
            resends.forget(.emailChange, userID: resendKey)
            throw PBError(.serviceUnavailable, "Too many mails are waiting to be sent. Try again in a minute.")
        }
        return Response(status: .noContent)
    }

    @Sendable func confirmEmailChange(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let object = try await body(request, context)
        var errors: [String: PBError.FieldError] = [:]
        var found = try await user(forToken: object["token"], as: .emailChange, errors: &errors)
        if let (user, claims) = found {
            if (claims.newEmail ?? "").isEmpty || !UsersController<Repository>.isValidEmail(claims.newEmail ?? "") {
                errors["token"] = .init(code: "validation_invalid_token_payload", message: "Invalid token payload - newEmail must be set.")
                found = nil
            } else if try await isTaken(claims.newEmail ?? "", by: user.id) {
                errors["token"] = Self.emailTakenToken
                found = nil
            }
        }
        switch object["password"] {
        case .string(let password)? where !password.isEmpty:
            if let (user, _) = found {
                // Password guesses here count as failed logins of the account (by its email),
                // so a stolen auth token cannot be used to guess the password without limit.
                let identity = user.text("email")
                try loginThrottle.checkAllowed(identity)
                let acceptable = !password.utf8.contains(0) && password.utf8.count <= UsersController<Repository>.maxPasswordBytes
                if !(try await passwords.verify(password, hash: acceptable ? user.text("passwordHash") : passwords.decoyHash) && acceptable) {
                    loginThrottle.failed(identity)
                    errors["password"] = .init(code: "validation_invalid_password", message: "Missing or invalid auth record password.")
                }
            }
        default:
            errors["password"] = .required
        }
        guard let (user, claims) = found, let newEmail = claims.newEmail, errors.isEmpty else {
            throw PBError.badRequest(Self.validationMessage, data: errors)
        }
        do {
            try await save(
                user, ["email": .string(newEmail), "verified": .bool(true), "tokenKey": .string(TokenService.newTokenKey())],
                unique: ["email"], failure: "Failed to confirm email change."
            )
        } catch StoreError.notUnique {
            // Taken between the check above and the write.
            throw PBError.badRequest(Self.validationMessage, data: ["token": Self.emailTakenToken])
        }
        return Response(status: .noContent)
    }

    static var emailTaken: PBError.FieldError {
        .init(code: "validation_invalid_new_email", message: "Invalid new email address: another account uses it.")
    }
    static var emailTakenToken: PBError.FieldError {
        .init(code: "validation_invalid_token_email", message: "The new email address is invalid: another account uses it.")
    }

    // MARK: - Helpers

    private func requireMail() throws -> MailQueue {
        guard let mail else {
            throw PBError.badRequest("Mail is not configured on this server (stoa node --smtp-host ...), so it cannot send this email.")
        }
        return mail
    }

    private func body(_ request: Request, _ context: StoaRequestContext) async throws -> [String: JSONValue] {
        var request = request
        return try RecordInput.decodeObject(try await request.bodyData(context: context))
    }

    /// The email in `field` of `object`, or a 400 with PocketBase's field error.
    static func email(in object: [String: JSONValue], field: String) throws -> String {
        guard case .string(let email)? = object[field], !email.isEmpty else {
            throw PBError.badRequest(validationMessage, data: [field: .required])
        }
        guard email.utf8.count <= 255, UsersController<Repository>.isValidEmail(email) else {
            throw PBError.badRequest(validationMessage, data: [field: .init(code: "validation_is_email", message: "Must be a valid email address.")])
        }
        return email
    }

    /// True when an account other than `userID` holds `email` or claims it (an account whose
    /// claim lost to an earlier one still counts: the address is not free).
    private func isTaken(_ email: String, by userID: String) async throws -> Bool {
        if let holder = try await repository.user(email: email), holder.id != userID { return true }
        return try await repository.usersDisplaced(from: email).contains { $0.id != userID }
    }

    /// The user a one-time token of `action` is for, with its claims, when the token is valid
    /// now: signed, unexpired, of this kind, for an existing user of this collection whose token
    /// key has not rotated and whose email has not changed since it was issued. Otherwise nil,
    /// with the reason in `errors["token"]`.
    private func user(
        forToken value: JSONValue?, as action: TokenService.Action, errors: inout [String: PBError.FieldError]
    ) async throws -> (StoredRecord, TokenService.ActionClaims)? {
        guard case .string(let token)? = value, !token.isEmpty else {
            errors["token"] = .required
            return nil
        }
        guard let claims = await tokens.verify(token, as: action) else {
            errors["token"] = Self.invalidToken
            return nil
        }
        guard claims.collectionId == schema.id else {
            errors["token"] = .init(code: "validation_token_collection_mismatch", message: "The provided token is for different auth collection.")
            return nil
        }
        guard let user = try await repository.record(schema, id: claims.id, owner: nil),
              TokenService.matches(claims, tokenKey: user.text("tokenKey"))
        else {
            errors["token"] = Self.invalidToken
            return nil
        }
        guard claims.email.caseInsensitiveCompare(user.text("email")) == .orderedSame else {
            errors["token"] = .init(code: "validation_token_email_mismatch", message: "The record email doesn't match with the requested token claims.")
            return nil
        }
        return (user, claims)
    }

    private func save(_ user: StoredRecord, _ fields: [String: FieldValue], unique: [String] = [], failure: String) async throws {
        do {
            _ = try await repository.update(schema, id: user.id, owner: nil, fields: fields, tags: nil, unique: unique)
        } catch StoreError.notFound {
            throw PBError.badRequest(failure)
        }
    }
}

/// PocketBase's resend guard: one password-reset or verification mail per account (one
/// email-change mail per account and new address) per two minutes, so a request endpoint
/// cannot be used to flood someone's mailbox.
/// Per node; at most 100,000 accounts remembered (the oldest half forgotten beyond).
final class ResendLimiter: Sendable {
    private let sent = Mutex<[String: Date]>([:])
    let interval: TimeInterval
    let capacity = 100_000

    init(interval: TimeInterval = 120) { self.interval = interval }

    /// True (and remembered) when no mail of `action` went to `userID` in the last interval.
    func allow(_ action: TokenService.Action, userID: String, now: Date = Date()) -> Bool {
        let key = action.rawValue + ":" + userID
        return sent.withLock { sent in
            if let last = sent[key], now.timeIntervalSince(last) < interval { return false }
            if sent.count >= capacity {
                sent = sent.filter { now.timeIntervalSince($0.value) < interval }
                if sent.count >= capacity { sent.removeAll() }
            }
            sent[key] = now
            return true
        }
    }

    /// Forgets the last ``allow(_:userID:now:)`` of `action` for `userID` (its mail was not sent).
    func forget(_ action: TokenService.Action, userID: String) {
        _ = sent.withLock { $0.removeValue(forKey: action.rawValue + ":" + userID) }
    }
}
