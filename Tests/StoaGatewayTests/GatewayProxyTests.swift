import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Testing
@testable import StoaGateway

@Suite("GatewayProxy: what counts against a node")
struct GatewayProxyTests {
    @Test("a request that cannot be sent as it is (a control character in a header) is the client's fault: 400, no node ejected, nothing retried")
    func requestErrorsDoNotEject() async throws {
        let pool = NodePoolTests.admitted(["n1", "n2"])
        let clients = UpstreamClients(configuration: HTTPClient.Configuration())
        let proxy = GatewayProxy(pool: pool, clients: clients, logger: Logger(label: "test"))
        var headers = HTTPHeaders()
        headers.add(name: "X-Note", value: "a\u{01}b")
        let request = ForwardedRequest(method: .GET, target: "/api/health", headers: headers, body: nil, idempotent: true)
        do {
            _ = try await proxy.forward(request)
            Issue.record("forwarded a request AsyncHTTPClient refuses")
        } catch GatewayProxy.Failure.badRequest {
        } catch {
            Issue.record("unexpected error \(error)")
        }
        #expect(pool.nodes.allSatisfy { !$0.ejected && $0.inFlight == 0 && $0.errors == 0 })
        #expect(pool.readmissionCandidates().isEmpty)
        #expect(GatewayResponder.unavailable(GatewayProxy.Failure.badRequest("x")).status == .badRequest)
        try await clients.shutdown()
    }
}
