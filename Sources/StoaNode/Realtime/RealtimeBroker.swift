import Foundation
import Hummingbird
import Logging
import Metrics
import ServiceLifecycle
import StoaCore
import StoaStore
import Synchronization

/// The node's realtime hub: SSE clients, their subscriptions and who they are, and the fan-out of
/// record events (local writes, device syncs and replicated changes alike) to them.
///
/// Events reach a client only for records its authenticated user owns. Each client has a queue
/// bounded in messages (``queueLimit``) and in bytes (``queueByteLimit``), and all clients together
/// in bytes (``totalByteLimit``); a client that would pass a bound (slow, gone, or subscribed to
/// one record a thousand times) is disconnected and counted, so no client can hold up the node,
/// grow its memory without bound, or delay other clients. The database's writer thread only hands events over;
/// the fan-out runs in ``run()``, a service of the node's application.
public final class RealtimeBroker: Service, Sendable {
    /// Counts since start.
    public struct Statistics: Sendable, Equatable {
        public var connected = 0
        public var delivered = 0
        public var droppedClients = 0
        /// Bytes queued for all clients and not yet written to their connections.
        public var queuedBytes = 0
        /// Subscriptions held by connected clients.
        public var subscriptions = 0
    }

    struct Client {
        let continuation: AsyncStream<ByteBuffer>.Continuation
        /// Set by the first subscription request; later ones must carry the same identity.
        var identity: AuthIdentity?
        var identitySet = false
        var subscriptions: [RealtimeSubscription] = []
        /// Bytes handed to the stream and not yet written (see ``RealtimeBroker/written(_:bytes:)``).
        var queuedBytes = 0
    }

    struct State {
        var clients: [String: Client] = [:]
        /// Client ids by the user they are authenticated as, for clients with subscriptions.
        var byUser: [String: Set<String>] = [:]
        var statistics = Statistics()

        mutating func index(_ id: String) {
            guard let client = clients[id], let user = client.identity?.userID else { return }
            if client.subscriptions.isEmpty { unindex(id, user: user) } else { byUser[user, default: []].insert(id) }
        }

        mutating func unindex(_ id: String, user: String) {
            byUser[user]?.remove(id)
            if byUser[user]?.isEmpty == true { byUser[user] = nil }
        }

        /// Removes a client and ends its stream (its SSE response then finishes). What it had
        /// queued is released with the stream.
        mutating func remove(_ id: String) {
            guard let client = clients.removeValue(forKey: id) else { return }
            if let user = client.identity?.userID { unindex(id, user: user) }
            statistics.queuedBytes -= client.queuedBytes
            statistics.subscriptions -= client.subscriptions.count
            client.continuation.finish()
        }
    }

    /// Why a subscription request was refused (PocketBase's answers).
    enum SubscribeError: Error, Equatable {
        case unknownClient
        case identityMismatch
    }

    /// Writes (each the messages of one batch of events) a client may have queued before it
    /// counts as too slow and is disconnected.
    let queueLimit: Int
    /// Bytes a client may have queued (not yet written to its connection) before it is
    /// disconnected.
    let queueByteLimit: Int
    /// Bytes all clients together may have queued: a client whose messages would pass it is
    /// disconnected (the node's memory for realtime stays bounded however many clients connect).
    let totalByteLimit: Int
    /// How often an SSE comment is sent to every client (finds vanished ones).
    let pingInterval: Duration
    let state = Mutex(State())
    /// The store events come from (set by ``observe(_:)``): subscriptions with a `filter` or
    /// `expand` option read it. Without one such subscriptions receive nothing.
    let store = Mutex<StoaDatabase?>(nil)
    let inbox: AsyncStream<[RecordEvent]>
    let inboxContinuation: AsyncStream<[RecordEvent]>.Continuation
    let logger: Logger

    private let clientsGauge = Gauge(label: "stoa_realtime_clients")
    private let deliveredCounter = Counter(label: "stoa_realtime_messages_delivered_total")
    private let droppedCounter = Counter(label: "stoa_realtime_clients_dropped_total")
    private let queuedBytesGauge = Gauge(label: "stoa_realtime_queued_bytes")
    private let subscriptionsGauge = Gauge(label: "stoa_realtime_subscriptions")

    /// Start of every client id this node issues: the node's name (letters, digits and `-` of
    /// it) and a dot, so a front node can send a client's subscription request to the node that
    /// holds its stream (`RealtimeBroker.node(ofClient:)`).
    let clientIDPrefix: String

    /// Default of ``queueByteLimit``: 4 MiB per client.
    public static let defaultQueueByteLimit = 4 << 20
    /// Default of ``totalByteLimit``: 256 MiB for all clients.
    public static let defaultTotalByteLimit = 256 << 20

    public init(
        nodeName: String = "", queueLimit: Int = 1024, queueByteLimit: Int = RealtimeBroker.defaultQueueByteLimit,
        totalByteLimit: Int = RealtimeBroker.defaultTotalByteLimit, pingInterval: Duration = .seconds(25),
        logger: Logger = Logger(label: "stoa.realtime")
    ) {
        let safe = String(nodeName.unicodeScalars.filter { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") }.map(Character.init))
        self.clientIDPrefix = safe.isEmpty ? "" : safe + "."
        self.queueLimit = max(1, queueLimit)
        self.queueByteLimit = max(1, queueByteLimit)
        self.totalByteLimit = max(1, totalByteLimit)
        self.pingInterval = pingInterval
        self.logger = logger
        (inbox, inboxContinuation) = AsyncStream.makeStream(of: [RecordEvent].self)
    }

    /// Feeds the broker from `database`: every committed record event is offered to subscribers.
    public func observe(_ database: StoaDatabase) {
        store.withLock { $0 = database }
        database.onRecordEvents { [weak self] events in self?.publish(events) }
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// The name of the node that issued a realtime client id (nil for an id without one).
    public static func node(ofClient clientID: String) -> String? {
        guard let dot = clientID.firstIndex(of: "."), dot != clientID.startIndex else { return nil }
        return String(clientID[..<dot])
    }

    /// Registers a new SSE client; returns its id and the stream of its messages, which starts
    /// with PocketBase's `PB_CONNECT` event.
    func connect() -> (id: String, messages: AsyncStream<ByteBuffer>) {
        var rng = SystemRandomNumberGenerator()
        let id = clientIDPrefix + (0..<2).map { _ in RecordID.generate(using: &rng) }.joined()
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(queueLimit))
        var hello = ByteBuffer()
        Self.writeMessage(into: &hello, client: id, event: "PB_CONNECT", data: ByteBuffer(string: #"{"clientId":"\#(id)"}"#))
        let helloBytes = hello.readableBytes
        continuation.yield(hello)
        let count = state.withLock { state in
            state.clients[id] = Client(continuation: continuation, queuedBytes: helloBytes)
            state.statistics.queuedBytes += helloBytes
            state.statistics.connected += 1
            return state.clients.count
        }
        clientsGauge.record(count)
        return (id, stream)
    }

    /// The SSE writer of client `id` wrote `bytes` of its queue to the connection.
    func written(_ id: String, bytes: Int) {
        state.withLock { state in
            guard var client = state.clients[id] else { return }
            let released = min(bytes, client.queuedBytes)
            client.queuedBytes -= released
            state.clients[id] = client
            state.statistics.queuedBytes -= released
        }
    }

    /// Forgets a client (its connection ended).
    func disconnect(_ id: String) {
        let count = state.withLock { state in
            state.remove(id)
            return state.clients.count
        }
        clientsGauge.record(count)
    }

    /// Sets a client's subscriptions (replacing the previous ones) and, the first time, who it is.
    ///
    /// - Throws: ``SubscribeError/unknownClient`` when no such client is connected;
    ///   ``SubscribeError/identityMismatch`` when an earlier request set another identity.
    func subscribe(client id: String, identity: AuthIdentity?, subscriptions: [String]) throws(SubscribeError) {
        try state.withLock { (state: inout State) throws(SubscribeError) in
            guard var client = state.clients[id] else { throw .unknownClient }
            if client.identitySet, client.identity?.userID != identity?.userID { throw .identityMismatch }
            if let user = client.identity?.userID { state.unindex(id, user: user) }
            client.identity = identity
            client.identitySet = true
            var seen = Set<String>()
            let unique = subscriptions.filter { seen.insert($0).inserted }.map(RealtimeSubscription.init)
            state.statistics.subscriptions += unique.count - client.subscriptions.count
            client.subscriptions = unique
            state.clients[id] = client
            state.index(id)
        }
    }

    /// Hands committed events to the fan-out; events no connected client could receive are
    /// dropped here, so nothing accumulates when nobody listens. Events of `_superusers` are
    /// never sent (clients are indexed by record id alone, and a user may choose its id).
    func publish(_ events: [RecordEvent]) {
        let superusers = CollectionSchema.superusers.name
        let wanted = state.withLock { state in events.filter { $0.record.collection != superusers && state.byUser[$0.owner] != nil } }
        if !wanted.isEmpty { inboxContinuation.yield(wanted) }
    }

    /// Runs the fan-out and the pings until graceful shutdown, then ends every client's stream.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await events in self.inbox.cancelOnGracefulShutdown() {
                    self.deliver(events, shaped: await self.shape(events))
                }
            }
            group.addTask {
                while (try? await Task.sleep(for: self.pingInterval)) != nil, !Task.isShuttingDownGracefully {
                    self.ping()
                }
            }
            await group.next()
            group.cancelAll()
        }
        let ids = state.withLock { Array($0.clients.keys) }
        for id in ids { disconnect(id) }
    }

    /// What the subscriptions with options (``RealtimeSubscription/isShaped``) make of each
    /// event of a batch, by subscription name: the message data, or nil when the subscription's
    /// filter leaves the event out. Checked and shaped once per distinct subscription string of
    /// the owner's clients (they all see as the owner does), outside the broker's lock.
    func shape(_ events: [RecordEvent]) async -> [[String: ByteBuffer?]] {
        let owners = Set(events.map(\.owner))
        let shapedByOwner = state.withLock { state -> [String: [RealtimeSubscription]] in
            var result: [String: [RealtimeSubscription]] = [:]
            for owner in owners {
                var seen = Set<String>()
                for id in state.byUser[owner] ?? [] {
                    for subscription in state.clients[id]?.subscriptions ?? [] where subscription.isShaped && seen.insert(subscription.name).inserted {
                        result[owner, default: []].append(subscription)
                    }
                }
            }
            return result
        }
        guard !shapedByOwner.isEmpty else { return Array(repeating: [:], count: events.count) }
        let database = store.withLock { $0 }
        var result: [[String: ByteBuffer?]] = []
        result.reserveCapacity(events.count)
        for event in events {
            var shaped: [String: ByteBuffer?] = [:]
            if let schema = CollectionSchema.named(event.record.collection) {
                for subscription in shapedByOwner[event.owner] ?? [] where subscription.matches(event.record, schema: schema) {
                    shaped[subscription.name] = .some(await Self.payload(event, schema: schema, subscription: subscription, database: database))
                }
            }
            result.append(shaped)
        }
        return result
    }

    /// The data of `event` for a subscription with options, nil when its filter leaves the
    /// event out (or cannot be checked: no store, or a filter that failed to parse or run).
    /// The record is checked as it is in the event (a deleted one as it was last), as
    /// PocketBase checks it before the delete.
    static func payload(_ event: RecordEvent, schema: CollectionSchema, subscription: RealtimeSubscription, database: StoaDatabase?) async -> ByteBuffer? {
        switch subscription.filter {
        case nil: break
        case .failure?: return nil
        case .success(let filter)?:
            guard let database, (try? database.matches(event.record, schema: schema, condition: filter.sql())) == true else { return nil }
        }
        var view = RecordView(record: event.record, schema: schema, fields: subscription.fields, showEmail: true)
        let expansion = RecordExpansion(subscription.query["expand"], schema: schema)
        if !expansion.isEmpty {
            guard let database else { return nil }
            view.expand = (try? await expansion.expand([event.record], viewer: event.owner, repository: database))?[event.record.id] ?? [:]
        }
        guard let data = try? Response.jsonEncoder.encode(EventPayload(action: event.action.rawValue, record: view)) else { return nil }
        return ByteBuffer(bytes: data)
    }

    /// Sends each event to every subscription of every client of the record's owner: all the
    /// messages one client gets from a batch go out as one write. A client whose messages would
    /// pass its byte bound, or the bound of all clients, is disconnected instead (its messages are
    /// not even built past the bound).
    ///
    /// `shaped` (from ``shape(_:)``, one entry per event) holds what subscriptions with options
    /// receive; such a subscription not in it (none given, or subscribed since) receives nothing
    /// of this batch.
    func deliver(_ events: [RecordEvent], shaped: [[String: ByteBuffer?]]? = nil) {
        let payloads = events.map(Self.payload)
        let (delivered, dropped, count, queued, subscriptions) = state.withLock { state -> (Int, Int, Int, Int, Int) in
            // Per client: the bytes of its messages from this batch and how many there are.
            var outgoing: [String: (buffer: ByteBuffer, messages: Int)] = [:]
            var slow = Set<String>()
            for (index, (event, plain)) in zip(events, payloads).enumerated() {
                guard let plain, let schema = CollectionSchema.named(event.record.collection) else { continue }
                for id in state.byUser[event.owner] ?? [] where !slow.contains(id) {
                    guard let client = state.clients[id] else { continue }
                    for subscription in client.subscriptions where subscription.matches(event.record, schema: schema) {
                        let payload: ByteBuffer
                        if !subscription.isShaped {
                            payload = plain
                        } else if let shaped, index < shaped.count, case .some(.some(let data)) = shaped[index][subscription.name] {
                            payload = data
                        } else {
                            continue
                        }
                        let pending = client.queuedBytes + (outgoing[id]?.buffer.readableBytes ?? 0)
                        let size = Self.messageSize(client: id, event: subscription.name, data: payload)
                        guard pending + size <= queueByteLimit else {
                            slow.insert(id)
                            outgoing[id] = nil
                            break
                        }
                        Self.writeMessage(into: &outgoing[id, default: (ByteBuffer(), 0)].buffer, client: id, event: subscription.name, data: payload)
                        outgoing[id]?.messages += 1
                    }
                }
            }
            var delivered = 0
            for (id, batch) in outgoing {
                guard var client = state.clients[id] else { continue }
                let bytes = batch.buffer.readableBytes
                guard state.statistics.queuedBytes + bytes <= totalByteLimit,
                      case .enqueued = client.continuation.yield(batch.buffer)
                else {
                    slow.insert(id)
                    continue
                }
                client.queuedBytes += bytes
                state.clients[id] = client
                state.statistics.queuedBytes += bytes
                delivered += batch.messages
            }
            for id in slow { state.remove(id) }
            state.statistics.delivered += delivered
            state.statistics.droppedClients += slow.count
            return (delivered, slow.count, state.clients.count, state.statistics.queuedBytes, state.statistics.subscriptions)
        }
        queuedBytesGauge.record(queued)
        subscriptionsGauge.record(subscriptions)
        if delivered > 0 { deliveredCounter.increment(by: delivered) }
        if dropped > 0 {
            droppedCounter.increment(by: dropped)
            clientsGauge.record(count)
            logger.info("disconnected slow realtime clients", metadata: ["count": "\(dropped)"])
        }
    }

    /// An SSE comment to every client: keeps proxies from closing idle streams and lets a write
    /// fail on connections whose client has gone.
    func ping() {
        let comment = ByteBuffer(string: ":ping\n\n")
        let dropped = state.withLock { state in
            var slow: [String] = []
            for (id, var client) in state.clients {
                guard case .enqueued = client.continuation.yield(comment) else {
                    slow.append(id)
                    continue
                }
                client.queuedBytes += comment.readableBytes
                state.clients[id] = client
                state.statistics.queuedBytes += comment.readableBytes
            }
            for id in slow { state.remove(id) }
            state.statistics.droppedClients += slow.count
            return slow.count
        }
        if dropped > 0 { droppedCounter.increment(by: dropped) }
    }

    /// `{"action":...,"record":...}` for an event, encoded once for all its recipients.
    static func payload(_ event: RecordEvent) -> ByteBuffer? {
        guard let schema = CollectionSchema.named(event.record.collection) else { return nil }
        let view = RecordView(record: event.record, schema: schema, only: nil, showEmail: true)
        guard let data = try? Response.jsonEncoder.encode(EventPayload(action: event.action.rawValue, record: view)) else { return nil }
        return ByteBuffer(bytes: data)
    }

    /// The bytes ``writeMessage(into:client:event:data:)`` writes.
    static func messageSize(client: String, event: String, data: ByteBuffer) -> Int {
        "id:".utf8.count + client.utf8.count + "\nevent:".utf8.count + event.utf8.count + "\ndata:".utf8.count + data.readableBytes + 2
    }

    /// One SSE message in PocketBase's form: the client id as `id`, the event name, one data line.
    static func writeMessage(into buffer: inout ByteBuffer, client: String, event: String, data: ByteBuffer) {
        buffer.writeStaticString("id:")
        buffer.writeString(client)
        buffer.writeStaticString("\nevent:")
        buffer.writeString(event)
        buffer.writeStaticString("\ndata:")
        buffer.writeImmutableBuffer(data)
        buffer.writeStaticString("\n\n")
    }

    private struct EventPayload: Encodable {
        let action: String
        let record: RecordView
    }
}
