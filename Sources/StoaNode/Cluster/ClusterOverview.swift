import AsyncHTTPClient
import Foundation
import NIOCore
import StoaGossip
import StoaStore

/// `GET /api/cluster/overview` (superusers only): every member as the dashboard's cluster page
/// shows it — this node's view of its state, incarnation and lag, and what the member itself
/// answers on its `/api/cluster?digest=1` (its vector, local sequence and replica digest), asked
/// of every data node not dead in the membership at once with a deadline; gateways (role
/// `gateway`) are asked for their `/api/gateway` on their public URL with the caller's
/// (superuser's) token, and their figures summed up in ``Member/gateway``. `digestsAgree` is
/// whether every node that answered holds the same digest (nil when fewer than two answered).
public struct ClusterOverview: Encodable, Sendable {
    public struct Member: Encodable, Sendable {
        public let name: String
        /// `node` (holds data) or `gateway` (a front node in the membership; not asked anything).
        public let role: String
        public let http: String
        /// As this node sees it: `alive`, `suspect` or `dead` (`alive` for itself).
        public let status: String
        public let incarnation: UInt64
        /// How many of this node's own changes the member is known to lack (nil: itself, or not heard yet).
        public let lag: UInt64?
        public let reachable: Bool
        /// Why the member did not answer (nil when it did).
        public let error: String?
        public let localSequence: UInt64?
        public let versionVector: [String: ClusterStatus.VectorEntry]?
        public let digest: String?
        /// A gateway's own figures (nil for nodes, and for a gateway that did not answer).
        public var gateway: GatewayFigures?
    }

    /// What a gateway's `/api/gateway` says, in brief.
    public struct GatewayFigures: Codable, Sendable {
        public let uptimeSeconds: Double
        /// Nodes it routes to (alive and not ejected) of those it knows.
        public let nodesRouted: Int
        public let nodesKnown: Int
        /// Requests it forwarded, and per second lately, over every node.
        public let requests: Int
        public let requestsPerSecond: Double
        /// Rate limiting: admitted and rejected since start (nil: no limits).
        public let admitted: UInt64?
        public let rejected: UInt64?
        /// The cache: hit ratio and entries (nil: no cache).
        public let cacheHitRatio: Double?
        public let cacheEntries: Int?

        /// The parts of `/api/gateway` read.
        struct Answer: Decodable {
            struct Node: Decodable {
                let state: String
                let ejected: Bool
                let requests: Int
                let requestsPerSecond: Double
            }
            struct Limits: Decodable {
                let admitted: UInt64
                let rejected: UInt64
            }
            struct Cache: Decodable {
                let hitRatio: Double
                let entries: Int
            }
            let uptimeSeconds: Double
            let nodes: [Node]
            let rateLimit: Limits?
            let cache: Cache?
        }

        init(_ answer: Answer) {
            uptimeSeconds = answer.uptimeSeconds
            nodesRouted = answer.nodes.filter { $0.state == "alive" && !$0.ejected }.count
            nodesKnown = answer.nodes.count
            requests = answer.nodes.reduce(0) { $0 + $1.requests }
            requestsPerSecond = answer.nodes.reduce(0) { $0 + $1.requestsPerSecond }
            admitted = answer.rateLimit?.admitted
            rejected = answer.rateLimit?.rejected
            cacheHitRatio = answer.cache?.hitRatio
            cacheEntries = answer.cache?.entries
        }
    }

    public let node: String
    public let digestsAgree: Bool?
    public let members: [Member]

    /// What a member's `/api/cluster?digest=1` answer is read for.
    struct Remote: Decodable {
        let localSequence: UInt64
        let versionVector: [String: ClusterStatus.VectorEntry]
        let digest: String?
    }

    /// Deadline for each member's answer (a digest reads every record state: ~0.4 s at 2,000 quotes).
    static let memberTimeout = TimeAmount.seconds(5)

    /// Gathers the overview: this node's own status and digest, and every other member's answer.
    /// - Parameter authorization: the caller's `Authorization` header, shown to the gateways.
    static func gather(node: ClusterNode, database: StoaDatabase, authorization: String?, client: HTTPClient = .shared) async throws -> ClusterOverview {
        let status = await node.status()
        var members = [Member(
            name: status.node, role: "node", http: await node.httpURL ?? node.configuration.httpURL, status: "alive",
            incarnation: status.incarnation, lag: nil, reachable: true, error: nil, localSequence: status.localSequence,
            versionVector: status.versionVector, digest: try await database.digest()
        )]
        let sorted = status.members.sorted { $0.name < $1.name }
        let others = sorted.filter { MemberRole(meta: $0.http).holdsData }
        let answers = await withTaskGroup(of: (Int, Result<Remote, any Error>).self) { group in
            for (index, member) in others.enumerated() where member.status != "dead" {
                group.addTask {
                    do {
                        var request = HTTPClientRequest(url: member.http + "/api/cluster?digest=1")
                        request.method = .GET
                        let response = try await client.execute(request, timeout: memberTimeout)
                        guard response.status == .ok else { throw OverviewError("HTTP \(response.status.code)") }
                        let body = try await response.body.collect(upTo: 4 << 20)
                        return (index, .success(try JSONDecoder().decode(Remote.self, from: Data(buffer: body))))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results = [Int: Result<Remote, any Error>]()
            for await (index, result) in group { results[index] = result }
            return results
        }
        for (index, member) in others.enumerated() {
            let answer = answers[index]
            let remote = try? answer?.get()
            var problem: String? = answer == nil ? "not asked: dead in the membership" : nil
            if case .failure(let error)? = answer { problem = OverviewError.describe(error) }
            members.append(Member(
                name: member.name, role: "node", http: member.http, status: member.status, incarnation: member.incarnation, lag: member.lag,
                reachable: remote != nil, error: problem, localSequence: remote?.localSequence, versionVector: remote?.versionVector,
                digest: remote?.digest
            ))
        }
        let gateways = sorted.compactMap { member -> (ClusterStatus.MemberView, String)? in
            guard case .gateway(let url) = MemberRole(meta: member.http) else { return nil }
            return (member, url)
        }
        let figures = await withTaskGroup(of: (Int, Result<GatewayFigures, any Error>).self) { group in
            for (index, (member, url)) in gateways.enumerated() where member.status != "dead" {
                group.addTask {
                    do {
                        var request = HTTPClientRequest(url: url + "/api/gateway")
                        request.method = .GET
                        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
                        let response = try await client.execute(request, timeout: memberTimeout)
                        guard response.status == .ok else { throw OverviewError("HTTP \(response.status.code)") }
                        let body = try await response.body.collect(upTo: 4 << 20)
                        return (index, .success(GatewayFigures(try JSONDecoder().decode(GatewayFigures.Answer.self, from: Data(buffer: body)))))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results = [Int: Result<GatewayFigures, any Error>]()
            for await (index, result) in group { results[index] = result }
            return results
        }
        for (index, (member, url)) in gateways.enumerated() {
            let answer = figures[index]
            var problem: String? = answer == nil ? "not asked: dead in the membership" : nil
            if case .failure(let error)? = answer { problem = OverviewError.describe(error) }
            var row = Member(
                name: member.name, role: "gateway", http: url, status: member.status, incarnation: member.incarnation, lag: nil,
                reachable: (try? answer?.get()) != nil, error: problem, localSequence: nil, versionVector: nil, digest: nil
            )
            row.gateway = try? answer?.get()
            members.append(row)
        }
        let digests = members.compactMap(\.digest)
        return ClusterOverview(node: status.node, digestsAgree: digests.count < 2 ? nil : Set(digests).count == 1, members: members)
    }
}

/// Why a member's status could not be read, in words for the dashboard.
struct OverviewError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    static func describe(_ error: any Error) -> String {
        if let error = error as? OverviewError { return error.description }
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: error)
    }
}
