import NIOCore

/// The body of a node's answer that is passed on as it arrives (`/api/realtime`'s server-sent
/// events), read from a node connection of the client connection's event loop.
///
/// Lives on that loop: every method must be called on it. The client side calls
/// ``start(_:)`` once with a sink that receives each chunk and then the end (nil, or the error
/// that cut the stream); chunks that arrive before are held. It pauses reading from the node
/// while the client cannot take more (``pause()``/``resume()``) and ``cancel()``s the node
/// connection when the client goes away.
public final class UpstreamStream: @unchecked Sendable {
    public enum Event: Sendable {
        case chunk(ByteBuffer)
        case end((any Error)?)
    }

    let channel: any Channel
    private var held: [Event] = []
    private var sink: ((Event) -> Void)?
    private var ended = false

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Called by the node connection's handler.
    func deliver(_ event: Event) {
        channel.eventLoop.assertInEventLoop()
        guard !ended else { return }
        if case .end = event { ended = true }
        if let sink { sink(event) } else { held.append(event) }
    }

    /// Starts passing the body to `sink` (first what arrived before).
    public func start(_ sink: @escaping (Event) -> Void) {
        channel.eventLoop.assertInEventLoop()
        self.sink = sink
        let early = held
        held = []
        for event in early { sink(event) }
    }

    /// Stops reading from the node until ``resume()``.
    public func pause() { channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }

    /// Reads from the node again.
    public func resume() { channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }

    /// The client went away: closes the node connection (the node ends its stream).
    public func cancel() {
        channel.eventLoop.assertInEventLoop()
        sink = nil
        held = []
        ended = true
        channel.close(promise: nil)
    }
}
