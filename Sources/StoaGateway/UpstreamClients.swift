import AsyncHTTPClient
import NIOCore
import NIOPosix

/// One AsyncHTTPClient (keep-alive pool to the nodes) per event loop of a group, each bound to
/// its loop: a request from a client connection on loop L goes out, and its answer comes back,
/// on a node connection of L, without a thread hop. (One shared client's pool only prefers the
/// request's loop: it hands out an idle connection of another loop, and the connections it opens
/// for a request that requires a loop are closed once idle.)
public final class UpstreamClients: Sendable {
    private let byLoop: [ObjectIdentifier: HTTPClient]
    /// The clients, one per loop, in the group's order.
    public let all: [HTTPClient]

    /// - Parameters:
    ///   - group: the loops to have a client on; the HTTP server's group, so its connections'
    ///     loops find their client.
    ///   - configuration: every client's configuration (its pool limits are per loop).
    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, configuration: HTTPClient.Configuration) {
        let loops = Array(group.makeIterator())
        all = loops.map { HTTPClient(eventLoopGroup: $0, configuration: configuration) }
        byLoop = Dictionary(uniqueKeysWithValues: zip(loops.map { ObjectIdentifier($0) }, all))
    }

    /// The client of `eventLoop`; the first client when `eventLoop` is nil or not in the group.
    public func client(for eventLoop: (any EventLoop)?) -> HTTPClient {
        if let eventLoop, let client = byLoop[ObjectIdentifier(eventLoop)] { return client }
        return all[0]
    }

    /// Shuts every client down.
    public func shutdown() async throws {
        for client in all { try await client.shutdown() }
    }
}
