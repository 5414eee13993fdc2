import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how a node sends mail (`stoa node --smtp-...`).
public struct SMTPConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Given: the client authenticates (AUTH PLAIN, else LOGIN) — only over TLS, or to a
    /// loopback server, so a password never crosses a network in clear.
    public var username: String?
    public var password: String?
    /// The sender: `address` or `Name <address>`; the envelope uses the address.
    public var from: String
    /// The name the client gives in `EHLO`.
    public var heloName: String
    /// A PEM file of certificates to trust for STARTTLS instead of the system's roots (a
    /// private CA or a self-signed server); nil: the system's.
    public var trustRootsFile: String?
    /// Time to connect.
    public var connectTimeout: Duration
    /// Time for a whole message, from the connection to the server's acceptance.
    public var timeout: Duration

    public init(
        host: String, port: Int = 587, username: String? = nil, password: String? = nil, from: String, heloName: String = "localhost",
        trustRootsFile: String? = nil, connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.from = from
        self.heloName = heloName
        self.trustRootsFile = trustRootsFile
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }

    /// The address of ``from`` (between `<` and `>` when it has a name).
    public var fromAddress: String {
        guard let open = from.lastIndex(of: "<"), let close = from.lastIndex(of: ">"), open < close else {
            return from.trimmingCharacters(in: .whitespaces)
        }
        return String(from[from.index(after: open)..<close])
    }
}

/// Why a message was not sent.
public enum SMTPError: Error, CustomStringConvertible, Equatable {
    /// The server answered `code` where another was expected (to `command`).
    case unexpectedReply(command: String, code: Int, text: String)
    /// The server sent something that is not an SMTP reply, or a line over 4096 bytes.
    case malformedReply
    /// The connection closed before the conversation ended.
    case closed
    /// The conversation took longer than the configuration's `timeout`.
    case timedOut
    /// A user is configured but the server offers neither AUTH PLAIN nor LOGIN.
    case noAuthMechanism
    /// A user is configured, the server is not on loopback and did not offer STARTTLS.
    case authenticationNeedsTLS
    /// An address holds characters SMTP commands cannot carry (`<`, `>`, controls, spaces).
    case invalidAddress(String)

    public var description: String {
        switch self {
        case .unexpectedReply(let command, let code, let text): "the server answered \(code) \(text) to \(command)"
        case .malformedReply: "the server's reply is not SMTP"
        case .closed: "the server closed the connection"
        case .timedOut: "the server took too long"
        case .noAuthMechanism: "the server offers neither AUTH PLAIN nor AUTH LOGIN"
        case .authenticationNeedsTLS: "the server does not offer STARTTLS, and the password is not sent in clear to a server off loopback"
        case .invalidAddress(let address): "\"\(address)\" cannot be sent in an SMTP command"
        }
    }
}

/// Sends each message over its own SMTP connection (RFC 5321): `EHLO`, `STARTTLS` when the
/// server offers it (then `EHLO` again, the server's certificate verified against the system's
/// roots or ``SMTPConfiguration/trustRootsFile`` and the host name), `AUTH` when a user is
/// configured, `MAIL FROM`, `RCPT TO`, `DATA`, `QUIT`.
///
/// Contract: ``send(_:)`` returns once the server accepted the message (250 after `DATA`) and
/// throws ``SMTPError`` (or a connection or TLS error) otherwise; it never takes longer than the
/// configuration's `connectTimeout` plus `timeout` (the connection is closed at the deadline),
/// and reads no reply line over 4096 bytes.
public struct SMTPMailSender: MailSender {
    public let configuration: SMTPConfiguration
    private let tls: NIOSSLContext

    public init(configuration: SMTPConfiguration) throws {
        self.configuration = configuration
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let file = configuration.trustRootsFile {
            tlsConfiguration.trustRoots = .file(file)
        }
        tls = try NIOSSLContext(configuration: tlsConfiguration)
    }

    public func send(_ message: MailMessage) async throws {
        let from = configuration.fromAddress
        for address in [from, message.to] where !Self.isSendable(address) { throw SMTPError.invalidAddress(address) }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(Int64(configuration.connectTimeout / .milliseconds(1))))
            .connect(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPLineDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let underlying = channel.channel
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var conversation = SMTPConversation(lines: inbound.makeAsyncIterator(), outbound: outbound)
                    try await self.converse(&conversation, channel: underlying, message: message, from: from)
                }
                return true
            }
            group.addTask {
                try await Task.sleep(for: configuration.timeout)
                return false
            }
            let finished = try await group.next() ?? false
            group.cancelAll()
            if !finished {
                underlying.close(promise: nil)
                throw SMTPError.timedOut
            }
        }
    }

    private func converse(_ smtp: inout SMTPConversation, channel: Channel, message: MailMessage, from: String) async throws {
        try await smtp.expect("greeting", [220])
        var features = try await smtp.command("EHLO \(configuration.heloName)", expecting: [250]).lines
        var secure = false
        if features.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) {
            try await smtp.command("STARTTLS", expecting: [220])
            let context = tls
            let host = configuration.host
            try await channel.eventLoop.submit {
                let name = host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: name), position: .first)
            }.get()
            secure = true
            features = try await smtp.command("EHLO \(configuration.heloName)", expecting: [250]).lines
        }
        if let user = configuration.username {
            guard secure || Self.isLoopback(configuration.host) else { throw SMTPError.authenticationNeedsTLS }
            let password = configuration.password ?? ""
            let mechanisms = Set(features.filter { $0.uppercased().hasPrefix("AUTH") }
                .flatMap { $0.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).dropFirst().map(String.init) })
            if mechanisms.contains("PLAIN") {
                let credentials = Data("\u{0}\(user)\u{0}\(password)".utf8).base64EncodedString()
                try await smtp.command("AUTH PLAIN \(credentials)", expecting: [235], shown: "AUTH PLAIN")
            } else if mechanisms.contains("LOGIN") {
                try await smtp.command("AUTH LOGIN", expecting: [334])
                try await smtp.command(Data(user.utf8).base64EncodedString(), expecting: [334], shown: "AUTH LOGIN user")
                try await smtp.command(Data(password.utf8).base64EncodedString(), expecting: [235], shown: "AUTH LOGIN password")
            } else {
                throw SMTPError.noAuthMechanism
            }
        }
        try await smtp.command("MAIL FROM:<\(from)>", expecting: [250])
        try await smtp.command("RCPT TO:<\(message.to)>", expecting: [250, 251])
        try await smtp.command("DATA", expecting: [354])
        var id = SystemRandomNumberGenerator()
        let messageID = "\(String(id.next(), radix: 36)).\(Int(Date().timeIntervalSince1970))@\(from.split(separator: "@").last ?? "stoa")"
        // The rendered body is base64 and its headers are ours: no line starts with a dot, but
        // the escape is made anyway (RFC 5321 4.5.2).
        let data = message.rendered(from: configuration.from, date: Date(), messageID: messageID)
            .replacingOccurrences(of: "\r\n.", with: "\r\n..")
        try await smtp.command(data + ".", expecting: [250], shown: "the message")
        // The message is accepted; a failed QUIT changes nothing.
        _ = try? await smtp.command("QUIT", expecting: [221])
    }

    /// True when `address` can go between `<` and `>` in an SMTP command.
    static func isSendable(_ address: String) -> Bool {
        !address.isEmpty && address.utf8.count <= 254
            && !address.unicodeScalars.contains { $0.value < 0x21 || $0.value == 0x7F || $0 == "<" || $0 == ">" }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// The client's side of one SMTP conversation: commands out, replies (possibly multi-line) in.
struct SMTPConversation {
    var lines: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    /// Reads one reply; throws unless its code is in `codes`.
    @discardableResult
    mutating func expect(_ command: String, _ codes: Set<Int>) async throws -> (code: Int, lines: [String]) {
        var texts: [String] = []
        while true {
            guard var buffer = try await lines.next() else { throw SMTPError.closed }
            guard let line = buffer.readString(length: buffer.readableBytes), line.utf8.count >= 3,
                  let code = Int(line.prefix(3)), texts.count < 100
            else { throw SMTPError.malformedReply }
            texts.append(String(line.dropFirst(4)))
            if line.utf8.count == 3 || line.dropFirst(3).first == " " {
                guard codes.contains(code) else {
                    throw SMTPError.unexpectedReply(command: command, code: code, text: texts.joined(separator: " "))
                }
                return (code, texts)
            }
        }
    }

    /// Sends `line` (CRLF added) and reads its reply; `shown` names the command in errors
    /// (credentials and bodies are not repeated there).
    @discardableResult
    mutating func command(_ line: String, expecting codes: Set<Int>, shown: String? = nil) async throws -> (code: Int, lines: [String]) {
        try await outbound.write(ByteBuffer(string: line + "\r\n"))
        return try await expect(shown ?? line, codes)
    }
}

/// Splits a server's bytes into lines (without CR LF), refusing a line over 4096 bytes.
struct SMTPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    static let maxLine = 4096

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maxLine { throw SMTPError.malformedReply }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        guard length <= Self.maxLine, var line = buffer.readSlice(length: length) else { throw SMTPError.malformedReply }
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)! }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
