import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import StoaCore
import Synchronization

/// Drives PocketBase's Records API (Stoa and PocketBase alike) as one authenticated user of the
/// `quotes` collection.
///
/// ``connect(url:email:password:clients:)`` signs the user up (an existing account is fine) and
/// logs in; ``seed(count:concurrency:)`` creates the quotes the read workloads fetch.
public struct RecordsAPITarget: BenchTarget {
    public let baseURL: String
    public let token: String
    public let userID: String
    let client: HTTPClient
    /// Ids of the seeded quotes (read workloads pick among them).
    public private(set) var seededIDs: [String] = []
    /// Creates made by this process, to make every created quote distinct.
    let createCounter = CreateCounter()

    init(baseURL: String, token: String, userID: String, client: HTTPClient) {
        self.baseURL = baseURL
        self.token = token
        self.userID = userID
        self.client = client
    }

    /// An error before the measured phase (sign-up, login, seeding): the run cannot start.
    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Opens a connection pool of `clients` connections to `url`, signs up `email` (ignoring an
    /// existing account) and logs in.
    public static func connect(url: String, email: String, password: String, clients: Int) async throws -> RecordsAPITarget {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: max(clients, 1))
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        do {
            let signUp: [String: Any] = ["email": email, "password": password, "passwordConfirm": password, "name": "Bench"]
            _ = try await send(client, .POST, base + "/api/collections/users/records", json: signUp, token: nil)
            let (status, body) = try await send(
                client, .POST, base + "/api/collections/users/auth-with-password", json: ["identity": email, "password": password], token: nil
            )
            guard status == 200, let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                  let token = object["token"] as? String, let record = object["record"] as? [String: Any], let id = record["id"] as? String
            else {
                throw SetupError(description: "login of \(email) at \(base) failed: status \(status) \(String(decoding: body, as: UTF8.self))")
            }
            return RecordsAPITarget(baseURL: base, token: token, userID: id, client: client)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Closes the connection pool.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Creates `count` quotes of the user (`concurrency` at a time) and remembers their ids.
    public mutating func seed(count: Int, concurrency: Int) async throws {
        let me = self
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            let lanes = max(1, min(concurrency, count))
            for lane in 0..<lanes {
                group.addTask {
                    var ids: [String] = []
                    for _ in stride(from: lane, to: count, by: lanes) {
                        let (status, body) = try await Self.send(me.client, .POST, me.collectionURL, json: me.newQuote(), token: me.token)
                        guard status == 200, let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                              let id = object["id"] as? String
                        else { throw SetupError(description: "seeding failed: status \(status) \(String(decoding: body, as: UTF8.self))") }
                        ids.append(id)
                    }
                    return ids
                }
            }
            var all: [String] = []
            for try await part in group { all += part }
            return all
        }
        seededIDs = ids
    }

    var collectionURL: String { baseURL + "/api/collections/quotes/records" }

    /// The body of a new quote: realistic sizes (a sentence of content, author, source, 2 tags).
    func newQuote() -> [String: Any] {
        let number = createCounter.next()
        return [
            "content": "The happiness of your life depends upon the quality of your thoughts. (bench quote \(number))",
            "author": "Marcus Aurelius",
            "source": "Meditations, Book V",
            "notes": "",
            "tags": ["stoic", "bench\(number % 8)"],
            "userId": userID,
        ]
    }

    public func perform(_ operation: BenchOperation, client: Int, rng: inout SplitMix64) async -> BenchOutcome {
        do {
            let status: Int
            switch operation {
            case .create:
                (status, _) = try await Self.send(self.client, .POST, collectionURL, json: newQuote(), token: token)
            case .get:
                guard !seededIDs.isEmpty else { return .failure("nothing seeded") }
                let id = seededIDs[Int.random(in: 0..<seededIDs.count, using: &rng)]
                (status, _) = try await Self.send(self.client, .GET, collectionURL + "/" + id, json: nil, token: token)
            case .list(let total):
                let query = "?page=1&perPage=\(benchPageSize)&sort=-created" + (total ? "" : "&skipTotal=1")
                (status, _) = try await Self.send(self.client, .GET, collectionURL + query, json: nil, token: token)
            case .edit:
                guard !seededIDs.isEmpty else { return .failure("nothing seeded") }
                let number = createCounter.next()
                let id = seededIDs[number % seededIDs.count]
                let body: [String: Any] = ["content": "The happiness of your life depends upon the quality of your thoughts. (edit \(number))"]
                (status, _) = try await Self.send(self.client, .PATCH, collectionURL + "/" + id, json: body, token: token)
            }
            return (200..<300).contains(status) ? .success : .failure("status \(status)")
        } catch {
            return .failure("transport: \(String(describing: error).prefix(80))")
        }
    }

    /// Sends one request and reads the whole answer (so the connection can be reused).
    static func send(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, json: [String: Any]?, token: String?) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: token) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), Data(body.readableBytesView))
    }
}

/// A thread-safe counter of created quotes.
final class CreateCounter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
