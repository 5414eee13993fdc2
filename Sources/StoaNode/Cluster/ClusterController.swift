import Hummingbird
import StoaStore

/// `GET /api/cluster`: membership (state, incarnation, address), the version vector and
/// per-peer replication lag; `?digest=1` adds the replica digest (reads every record state).
/// `GET /api/cluster/overview` (a superuser token, else 403): ``ClusterOverview``.
struct ClusterController: Sendable {
    let node: ClusterNode
    let database: StoaDatabase

    func addRoutes(to router: Router<StoaRequestContext>) {
        router.get("api/cluster") { request, _ in
            var status = await node.status()
            if FormQuery(request.uri.query).get("digest").map({ ["1", "true"].contains($0) }) == true {
                status.digest = try await database.digest()
            }
            return try Response.json(status)
        }
        router.get("api/cluster/overview") { request, context in
            guard context.identity?.isSuperuser == true else { throw PBError(.forbidden, "Only superusers can perform this action.") }
            let authorization = request.headers[.authorization]
            return try Response.json(try await ClusterOverview.gather(node: node, database: database, authorization: authorization))
        }
    }
}
