import Foundation

/// One plain-text mail to one recipient, as account mail sends it.
public struct MailMessage: Sendable, Equatable {
    /// The recipient's address (checked by the caller: one `@`, no spaces or line breaks).
    public var to: String
    public var subject: String
    /// The body, plain text (UTF-8; lines end with `\n`).
    public var text: String

    public init(to: String, subject: String, text: String) {
        self.to = to
        self.subject = subject
        self.text = text
    }

    /// The message as RFC 5322 text for SMTP `DATA`: headers (a non-ASCII subject in RFC 2047
    /// base64), then the body in base64 lines of 76 characters, so no line is too long, none
    /// starts with a dot and no 8-bit support is needed. Lines end with CRLF; the terminating
    /// `.` line is not included.
    ///
    /// - Parameters:
    ///   - from: the `From` header's value (`Name <address>` or an address).
    ///   - date: the `Date` header's time.
    ///   - messageID: the `Message-ID` header's value without angle brackets.
    public func rendered(from: String, date: Date, messageID: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let subjectHeader = subject.allSatisfy { $0.isASCII && !$0.isNewline }
            ? subject : "=?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?="
        let body = Data(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
            .base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return [
            "From: \(from)",
            "To: <\(to)>",
            "Subject: \(subjectHeader)",
            "Date: \(formatter.string(from: date))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
            body,
        ].joined(separator: "\r\n") + "\r\n"
    }
}

/// Something that delivers mail: SMTP in production (``SMTPMailSender``), a recording sink in
/// tests.
public protocol MailSender: Sendable {
    /// Delivers `message`, or throws why it could not (the caller logs it; nothing retries).
    func send(_ message: MailMessage) async throws
}
