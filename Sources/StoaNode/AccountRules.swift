import StoaStore

/// The checks an account's email and password pass in the Records API, for callers outside it
/// (`stoa superuser upsert`).
public enum AccountRules {
    /// ``UsersController/isValidEmail(_:)``.
    public static func isValidEmail(_ email: String) -> Bool {
        UsersController<StoaDatabase>.isValidEmail(email)
    }

    /// Why a new password is refused (too short, over bcrypt's 72 bytes, a NUL), or nil.
    public static func passwordProblem(_ password: String) -> String? {
        if case .failure(let error) = UsersController<StoaDatabase>.checkPassword(.string(password)) { return error.message }
        return nil
    }
}
