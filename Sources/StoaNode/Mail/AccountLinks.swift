import Synchronization

/// The public base URL the links in account mail start with (`--public-url`, else the URL the
/// node serves, known once its HTTP port is bound), and the mails themselves.
public final class AccountLinks: Sendable {
    private let base: Mutex<String>
    /// True when the base was configured (it is then never replaced by the served URL).
    public let configured: Bool

    /// - Parameter base: `scheme://host[:port][/path]`; a trailing `/` is dropped.
    public init(base: String, configured: Bool) {
        self.base = Mutex(base.hasSuffix("/") ? String(base.dropLast()) : base)
        self.configured = configured
    }

    public var url: String { base.withLock { $0 } }

    /// Sets the base to the URL the node serves, unless one was configured.
    public func served(_ url: String) {
        guard !configured else { return }
        base.withLock { $0 = url }
    }

    /// The link to the page that confirms `action` with `token` (the token in the fragment, so
    /// it is not sent to the server with the page request, nor kept in its logs).
    public func link(_ action: TokenService.Action, token: String) -> String {
        "\(url)/auth/\(Self.pageName(action))#token=\(token)"
    }

    static func pageName(_ action: TokenService.Action) -> String {
        switch action {
        case .passwordReset: "confirm-password-reset"
        case .verification: "confirm-verification"
        case .emailChange: "confirm-email-change"
        }
    }

    /// The mail that carries a token of `action` to `to`.
    public func mail(_ action: TokenService.Action, to: String, token: String, newEmail: String? = nil) -> MailMessage {
        let link = link(action, token: token)
        switch action {
        case .passwordReset:
            return MailMessage(to: to, subject: "Reset your password", text: """
                Hello,

                Someone (hopefully you) asked to reset the password of your account. Set a new password here:

                \(link)

                The link works once, for 30 minutes. If you did not ask for it, ignore this mail: your password stays as it is.

                """)
        case .verification:
            return MailMessage(to: to, subject: "Verify your email", text: """
                Hello,

                Confirm that this address is yours by opening this link:

                \(link)

                The link works for 3 days. If you did not sign up, ignore this mail.

                """)
        case .emailChange:
            return MailMessage(to: to, subject: "Confirm your new email address", text: """
                Hello,

                Someone (hopefully you) asked to change the email of an account to this address (\(newEmail ?? to)). Confirm it here, with the account's password:

                \(link)

                The link works once, for 30 minutes. If you did not ask for it, ignore this mail.

                """)
        }
    }
}
