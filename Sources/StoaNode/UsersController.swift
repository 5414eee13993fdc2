import Foundation
import Hummingbird
import StoaCore
import StoaStore

/// The `users` auth collection: sign-up, password auth, token refresh, and viewing or listing
/// one's own user record (rule `id = @request.auth.id`).
struct UsersController<Repository: RecordRepository>: Sendable {
    let repository: Repository
    let tokens: TokenService
    let passwords: PasswordHasher
    let loginThrottle: LoginThrottle
    let schema = CollectionSchema.users

    static var minPasswordLength: Int { 8 }
    /// bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
    static var maxPasswordBytes: Int { 72 }

    func addRoutes(to group: RouterGroup<StoaRequestContext>) {
        group.post("records", use: signUp)
        group.get("records", use: list)
        group.get("records/:id", use: view)
        group.post("auth-with-password", use: authWithPassword)
        group.post("auth-refresh", use: authRefresh)
    }

    @Sendable func signUp(_ request: Request, context: StoaRequestContext) async throws -> Response {
        var request = request
        let object = try RecordInput.decodeObject(try await request.bodyData(context: context))
        var input = RecordInput(object, schema: schema, creating: true, required: ["email"])
        input.fields["verified"] = nil  // only the server may verify
        var password = ""
        switch Self.checkPassword(object["password"]) {
        case .success(let text): password = text
        case .failure(let error): input.errors["password"] = error
        }
        if input.errors["password"] == nil, object["passwordConfirm"] != .string(password) {
            input.errors["passwordConfirm"] = .init(code: "validation_values_mismatch", message: "Values don't match.")
        }
        if case .string(let email)? = input.fields["email"], input.errors["email"] == nil, !Self.isValidEmail(email) {
            input.errors["email"] = .init(code: "validation_is_email", message: "Must be a valid email address.")
        }
        guard input.errors.isEmpty else { throw PBError.badRequest("Failed to create record.", data: input.errors) }
        var fields = input.fields
        fields["passwordHash"] = .string(try await passwords.hash(password))
        var rng = SystemRandomNumberGenerator()
        fields["tokenKey"] = .string(TokenService.newTokenKey())
        let record = try await repository.create(
            schema, id: input.id ?? RecordID.generate(using: &rng), fields: fields, tags: [], unique: ["email"]
        )
        return try .json(view(record, viewer: context.identity?.userID))
    }

    /// A new password from a request body (sign-up, password reset), or the field error
    /// PocketBase reports for it.
    static func checkPassword(_ value: JSONValue?) -> Result<String, PBError.FieldError> {
        switch value {
        case .string(let text)? where text.utf8.contains(0):
            // bcrypt reads a C string: everything after a NUL would be ignored.
            .failure(.init(code: "validation_invalid_format", message: "Must not contain NUL characters."))
        case .string(let text)? where text.utf8.count > maxPasswordBytes:
            .failure(.init(code: "validation_max_text_constraint", message: "Must be no more than \(maxPasswordBytes) bytes.", params: ["max": maxPasswordBytes]))
        case .string(let text)? where text.count >= minPasswordLength:
            .success(text)
        case .string(let text)? where !text.isEmpty:
            .failure(.minLength(minPasswordLength, params: false))
        default:
            .failure(.required)
        }
    }

    @Sendable func authWithPassword(_ request: Request, context: StoaRequestContext) async throws -> Response {
        var request = request
        let object = try RecordInput.decodeObject(try await request.bodyData(context: context))
        var errors: [String: PBError.FieldError] = [:]
        guard case .string(let identity)? = object["identity"], !identity.isEmpty else {
            errors["identity"] = .init(code: "validation_required", message: "Cannot be blank.")
            if case .string(let p)? = object["password"], !p.isEmpty {} else {
                errors["password"] = .init(code: "validation_required", message: "Cannot be blank.")
            }
            throw PBError.badRequest("An error occurred while validating the submitted data.", data: errors)
        }
        guard case .string(let password)? = object["password"], !password.isEmpty else {
            throw PBError.badRequest("An error occurred while validating the submitted data.", data: ["password": .init(code: "validation_required", message: "Cannot be blank.")])
        }
        try loginThrottle.checkAllowed(identity)
        // SQLite's C interface would read an identity only up to a NUL: such an identity
        // matches no account (no email may hold one).
        let user = identity.utf8.contains(0) ? nil : try await repository.user(email: identity)
        // A password sign-up refuses (a NUL, more than bcrypt's 72 bytes) can match no account:
        // bcrypt would ignore what follows a NUL or the 72nd byte. It is checked against the
        // decoy like an unknown email, so the answer and its timing are the same as for a wrong
        // password. Hash even for an unknown email so timing does not reveal which emails exist.
        let acceptable = !password.utf8.contains(0) && password.utf8.count <= Self.maxPasswordBytes
        let hash = acceptable ? user.map { $0.text("passwordHash") } ?? passwords.decoyHash : passwords.decoyHash
        let valid = try await passwords.verify(password, hash: hash) && acceptable
        guard let user, valid else {
            loginThrottle.failed(identity)
            // An account that signed up with this email after another (in another partition, or
            // at the same moment elsewhere) keeps its data; its owner learns how to get back in.
            if acceptable {
                for displaced in try await repository.usersDisplaced(from: identity)
                where try await passwords.verify(password, hash: displaced.text("passwordHash")) {
                    throw PBError.badRequest(
                        "Another account was created with this email at the same moment and keeps it. Your account and its quotes are kept: sign in with your account id \(displaced.id) as the identity, then change its email.",
                        data: ["identity": .init(code: "validation_email_held_by_earlier_account", message: "Sign in with your account id \(displaced.id).")]
                    )
                }
            }
            throw PBError.badRequest("Failed to authenticate.")
        }
        return try await authResponse(user)
    }

    @Sendable func authRefresh(_ request: Request, context: StoaRequestContext) async throws -> Response {
        guard let identity = context.identity, identity.refreshable, identity.collectionID == schema.id,
              let user = try await repository.record(schema, id: identity.userID, owner: nil)
        else { throw PBError.unauthorized }
        return try await authResponse(user)
    }

    @Sendable func view(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard !id.utf8.contains(0), let owner = context.identity?.userID, let user = try await repository.record(schema, id: id, owner: owner) else {
            throw PBError.notFound
        }
        return try .json(view(user, viewer: owner, fields: FieldSelection.parse(FormQuery(request.uri.query).get("fields"))))
    }

    @Sendable func list(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let parameters = try ListParameters(FormQuery(request.uri.query), schema: schema, owner: context.identity?.userID)
        let page = context.identity == nil ? parameters.emptyPage : try await repository.list(schema, query: parameters.query)
        return try .json(ListEnvelope(
            items: page.items.map { view($0, viewer: context.identity?.userID, fields: parameters.fields) },
            page: page.page, perPage: page.perPage, totalItems: page.totalItems, totalPages: page.totalPages
        ))
    }

    private func authResponse(_ user: StoredRecord) async throws -> Response {
        let token = try await tokens.issue(userID: user.id, collectionID: schema.id, tokenKey: user.text("tokenKey"))
        return try .json(AuthResponse(record: view(user, viewer: user.id), token: token))
    }

    private func view(_ user: StoredRecord, viewer: String?, fields: FieldSelection = .all) -> RecordView {
        RecordView(record: user, schema: schema, fields: fields, showEmail: viewer == user.id || user.values["emailVisibility"] == .bool(true))
    }

    /// A pragmatic email check: one `@`, a non-empty local part, a dotted domain, no spaces.
    static func isValidEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, email.count <= 254,
              !email.contains(where: { $0.isWhitespace || $0.isNewline })
        else { return false }
        let domain = parts[1]
        return domain.contains(".") && !domain.hasPrefix(".") && !domain.hasSuffix(".") && !domain.contains("..")
    }
}

/// A field error is what ``UsersController/checkPassword(_:)`` fails with.
extension PBError.FieldError: Error {}
