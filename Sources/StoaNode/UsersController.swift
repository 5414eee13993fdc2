import Foundation
import Hummingbird
import StoaCore
import StoaStore

/// An auth collection's Records API and password auth, as PocketBase's default rules have them.
///
/// `users`: anyone signs up; a user views, lists, updates (`name`, `avatar`, `emailVisibility`)
/// and deletes its own record (rule `id = @request.auth.id`); a user's quotes are deleted with
/// it. `_superusers` (rules null): only a superuser creates, views, lists, updates or deletes
/// one. A superuser token passes every rule of both, and may set `email`, `verified` and a new
/// `password` (a new password or email rotates the token key, so every token issued before is
/// refused).
struct UsersController<Repository: RecordRepository>: Sendable {
    let repository: Repository
    let tokens: TokenService
    let passwords: PasswordHasher
    let loginThrottle: LoginThrottle
    /// ``CollectionSchema/users`` or ``CollectionSchema/superusers``.
    var schema = CollectionSchema.users

    static var onlySuperusers: PBError { PBError(.forbidden, "Only superusers can perform this action.") }
    private var isSuperusers: Bool { schema.id == CollectionSchema.superusers.id }

    static var minPasswordLength: Int { 8 }
    /// bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
    static var maxPasswordBytes: Int { 72 }

    func addRoutes(to group: RouterGroup<StoaRequestContext>) {
        group.post("records", use: signUp)
        group.get("records", use: list)
        group.get("records/:id", use: view)
        group.patch("records/:id", use: update)
        group.delete("records/:id", use: delete)
        group.post("auth-with-password", use: authWithPassword)
        group.post("auth-refresh", use: authRefresh)
    }

    @Sendable func signUp(_ request: Request, context: StoaRequestContext) async throws -> Response {
        var request = request
        let superuser = context.identity?.isSuperuser == true
        if isSuperusers, !superuser { throw Self.onlySuperusers }
        let object = try RecordInput.decodeObject(try await request.bodyData(context: context))
        var input = RecordInput(object, schema: schema, creating: true, required: ["email"])
        if !superuser { input.fields["verified"] = nil }  // only the server (or a superuser) verifies
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
        return .json(view(record, viewer: try viewer(context)))
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
        let user = identity.utf8.contains(0) ? nil : try await repository.account(schema, email: identity)
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
                for displaced in try await repository.accountsDisplaced(schema, from: identity)
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
        let viewer = try self.viewer(context)
        guard !id.utf8.contains(0), let viewer, let user = try await repository.record(schema, id: id, owner: viewer.owner) else {
            throw PBError.notFound
        }
        return try .json(view(user, viewer: viewer, fields: FieldSelection.parse(FormQuery(request.uri.query).get("fields"))))
    }

    @Sendable func list(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let viewer = try self.viewer(context)
        let parameters = try ListParameters(FormQuery(request.uri.query), schema: schema, owner: viewer?.owner)
        let page = viewer == nil ? parameters.emptyPage : try await repository.list(schema, query: parameters.query)
        return .json(ListEnvelope(
            items: page.items.map { view($0, viewer: viewer, fields: parameters.fields) },
            page: page.page, perPage: page.perPage, totalItems: page.totalItems, totalPages: page.totalPages
        ))
    }

    @Sendable func update(_ request: Request, context: StoaRequestContext) async throws -> Response {
        var request = request
        let id = try context.parameters.require("id")
        guard let viewer = try self.viewer(context), !id.utf8.contains(0),
              let existing = try await repository.record(schema, id: id, owner: viewer.owner)
        else { throw PBError.notFound }
        let object = try RecordInput.decodeObject(try await request.bodyData(context: context))
        var input = RecordInput(object, schema: schema, creating: false, required: [])
        if input.id != nil, input.id != id { input.errors["id"] = .init(code: "validation_invalid_value", message: "The id cannot be changed.") }
        input.id = nil
        let ownFields: Set<String> = ["name", "avatar", "emailVisibility"]
        for name in input.fields.keys.sorted() where !viewer.superuser && !ownFields.contains(name) {
            input.errors[name] = .init(code: "validation_forbidden", message: "Only a superuser can change this field.")
        }
        if case .string(let email)? = input.fields["email"], input.errors["email"] == nil, !Self.isValidEmail(email) {
            input.errors["email"] = .init(code: "validation_is_email", message: "Must be a valid email address.")
        }
        var fields = input.fields
        if object["password"] != nil {
            if !viewer.superuser {
                input.errors["password"] = .init(code: "validation_forbidden", message: "Change your password with a password reset.")
            } else {
                switch Self.checkPassword(object["password"]) {
                case .success(let password):
                    if object["passwordConfirm"] != .string(password) {
                        input.errors["passwordConfirm"] = .init(code: "validation_values_mismatch", message: "Values don't match.")
                    } else if input.errors.isEmpty {
                        fields["passwordHash"] = .string(try await passwords.hash(password))
                        fields["tokenKey"] = .string(TokenService.newTokenKey())
                    }
                case .failure(let error): input.errors["password"] = error
                }
            }
        }
        guard input.errors.isEmpty else { throw PBError.badRequest("Failed to update record.", data: input.errors) }
        // A new email rotates the token key too (as PocketBase does): sessions end with the address.
        if let email = fields["email"], email != existing.values["email"], fields["tokenKey"] == nil {
            fields["tokenKey"] = .string(TokenService.newTokenKey())
        }
        let record = try await repository.update(schema, id: id, owner: viewer.owner, fields: fields, tags: nil, unique: fields["email"] == nil ? [] : ["email"])
        return .json(view(record, viewer: viewer))
    }

    @Sendable func delete(_ request: Request, context: StoaRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let viewer = try self.viewer(context), !id.utf8.contains(0),
              try await repository.record(schema, id: id, owner: viewer.owner) != nil
        else { throw PBError.notFound }
        if schema.id == CollectionSchema.users.id {
            // The user's quotes go with it (PocketBase's cascade delete of the `userId`
            // relation): deleted first, so a failure part-way leaves the account to retry with.
            while true {
                let page = try await repository.list(.quotes, query: ListQuery(owner: id, perPage: 500, skipTotal: true))
                if page.items.isEmpty { break }
                for quote in page.items { try await repository.delete(.quotes, id: quote.id, owner: id) }
            }
        }
        try await repository.delete(schema, id: id, owner: viewer.owner)
        return Response(status: .noContent)
    }

    /// Who may see which records of this collection: a superuser every one (owner nil), a user
    /// of this collection its own; nil for a guest (or, in `users`, an account of another
    /// collection). In `_superusers`, anyone but a superuser is refused (403).
    private func viewer(_ context: StoaRequestContext) throws(PBError) -> Viewer? {
        guard let identity = context.identity else {
            if isSuperusers { throw Self.onlySuperusers }
            return nil
        }
        if identity.isSuperuser { return Viewer(superuser: true, id: identity.userID, owner: nil) }
        if isSuperusers { throw Self.onlySuperusers }
        guard identity.collectionID == schema.id else { return nil }
        return Viewer(superuser: false, id: identity.userID, owner: identity.userID)
    }

    /// The caller as ``viewer(_:)`` sees it.
    struct Viewer {
        let superuser: Bool
        let id: String
        /// The records it may see: its own (its id), or every one (nil).
        let owner: String?
    }

    private func authResponse(_ user: StoredRecord) async throws -> Response {
        let token = try await tokens.issue(userID: user.id, collectionID: schema.id, tokenKey: user.text("tokenKey"))
        return try .json(AuthResponse(record: view(user, viewer: Viewer(superuser: isSuperusers, id: user.id, owner: user.id)), token: token))
    }

    private func view(_ user: StoredRecord, viewer: Viewer?, fields: FieldSelection = .all) -> RecordView {
        let showEmail = viewer?.superuser == true || viewer?.id == user.id || user.values["emailVisibility"] == .bool(true)
        return RecordView(record: user, schema: schema, fields: fields, showEmail: showEmail)
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
