import Hummingbird
import NIOCore

/// The gateway's request context: Hummingbird's core storage plus the client's address and the
/// event loop of the client's connection.
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer (a client, or a proxy in front of the gateway).
    public let remoteAddress: SocketAddress?
    /// The loop the client's connection runs on: the proxy sends the request to a node over a
    /// connection of the same loop (see ``GatewayProxy``).
    public let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        eventLoop = source.channel.eventLoop
    }

    /// The peer's IP address as text (`127.0.0.1`, `::1`), or "" when unknown.
    public var peerIP: String { remoteAddress?.ipAddress ?? "" }
}
