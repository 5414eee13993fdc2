import Hummingbird
import NIOCore

/// The gateway's request context: Hummingbird's core storage plus the client's address.
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer (a client, or a proxy in front of the gateway).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text (`127.0.0.1`, `::1`), or "" when unknown.
    public var peerIP: String { remoteAddress?.ipAddress ?? "" }
}
