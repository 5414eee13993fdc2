import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The mail a node has to send, sent in the background so that no request waits for an SMTP
/// server (and the answer to a request does not tell whether a mail went out).
///
/// Contract: ``post(_:)`` never waits; it refuses (false, counted in
/// `stoa_mail_total{result="dropped"}`) when `capacity` messages are already waiting. ``run()``
/// sends them one at a time, in order, through the ``MailSender`` (each bounded by the sender's
/// own timeouts), counts each as `sent` or `failed` and logs failures; a failed message is not
/// retried. Messages still waiting at shutdown are dropped.
public final class MailQueue: Service, Sendable {
    public let capacity: Int
    private let sender: any MailSender
    private let logger: Logger
    private let stream: AsyncStream<MailMessage>
    private let continuation: AsyncStream<MailMessage>.Continuation
    private let waiting = Mutex(0)
    private let sent = Counter(label: "stoa_mail_total", dimensions: [("result", "sent")])
    private let failed = Counter(label: "stoa_mail_total", dimensions: [("result", "failed")])
    private let dropped = Counter(label: "stoa_mail_total", dimensions: [("result", "dropped")])

    public init(sender: any MailSender, capacity: Int = 100, logger: Logger = Logger(label: "stoa.mail")) {
        self.sender = sender
        self.capacity = capacity
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: MailMessage.self, bufferingPolicy: .unbounded)
    }

    /// Queues `message`; false when the queue is full (the message is dropped and counted).
    @discardableResult
    public func post(_ message: MailMessage) -> Bool {
        let accepted = waiting.withLock { count in
            guard count < capacity else { return false }
            count += 1
            return true
        }
        guard accepted else {
            dropped.increment()
            logger.warning("mail queue full (\(capacity) waiting): a mail was dropped")
            return false
        }
        continuation.yield(message)
        return true
    }

    /// Sends queued messages until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await message in self.stream {
                self.waiting.withLock { $0 -= 1 }
                do {
                    try await self.sender.send(message)
                    self.sent.increment()
                } catch {
                    self.failed.increment()
                    self.logger.error("mail \"\(message.subject)\" not sent: \(error)")
                }
                if Task.isCancelled { break }
            }
        }
    }
}
