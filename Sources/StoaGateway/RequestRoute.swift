import NIOHTTP1

/// What the gateway needs to know about a request's path and method: whether the public port
/// serves it at all, whether it writes (and what it may change), whether it authenticates,
/// whether a failed attempt may be retried on another node, and which records it touches.
///
/// Paths are read as the nodes' router (Hummingbird's trie) reads them: split at `/` with empty
/// components skipped (`//api//sync/` is `/api/sync`), compared as sent (case-sensitive, not
/// percent-decoded).
public struct RequestRoute: Sendable, Equatable {
    /// A write changes data (POST, PUT, PATCH, DELETE).
    public let isWrite: Bool
    /// The collection of a Records API path (`/api/collections/{collection}/records...`).
    public let collection: String?
    /// The record id of a view/update/delete path (`.../records/{id}`).
    public let recordID: String?
    /// True for `GET .../records` (list) and `GET .../records/{id}` (view): the cacheable reads.
    public let isRecordRead: Bool
    /// The public API the gateway forwards: paths under `/api/` except the nodes' internal
    /// `/api/cluster` (membership, gossip addresses, digests) and the gateway's own
    /// `/api/gateway` (served on the admin listener, and to superusers: ``isGatewayStatus``);
    /// `/api/cluster/overview` (the node answers it to superusers only); GETs of the account
    /// pages account mails link to (``accountPages``: links built with `--public-url` pointing
    /// at the gateway) and of the admin dashboard (`/_/` and its files). Anything else is
    /// answered 404 by the gateway.
    public let isPublic: Bool
    /// `/api/gateway`: the gateway's status, answered on the public port to a superuser token
    /// (the dashboard's cluster page), 404 to anyone else.
    public let isGatewayStatus: Bool
    /// `POST /api/collections/{collection}/{action}` for an authentication or account action
    /// (``authActions``): the traffic of `auth` rate-limit policies.
    public let isAuth: Bool
    /// `/api/sync` (a POST applies a device's edits to any of the user's records of
    /// ``syncedCollection``).
    public let isSync: Bool
    /// `/api/realtime` (GET: the event stream; POST: a subscription request).
    public let isRealtime: Bool

    /// The collection `/api/sync` reads and writes (the user's quotes).
    public static let syncedCollection = "quotes"

    /// The account actions PocketBase (0.23+) serves under `/api/collections/{collection}/`:
    /// the ones tagged `auth` by its rate limiter (`auth-with-password`, `-oauth2`, `-otp`), the
    /// token refresh and the request/confirm flows (one-time password, password reset,
    /// verification, email change).
    public static let authActions: Set<Substring> = [
        "auth-with-password", "auth-with-oauth2", "auth-with-otp", "auth-refresh", "request-otp",
        "request-password-reset", "confirm-password-reset", "request-verification", "confirm-verification",
        "request-email-change", "confirm-email-change",
    ]

    /// The pages a node serves under `/auth/` for account-mail links, and their script.
    public static let accountPages: Set<Substring> = [
        "confirm-password-reset", "confirm-verification", "confirm-email-change", "account.js",
    ]

    public init(method: String, path: String) {
        self.init(method: method, path: path[...])
    }

    public init(method: String, path: Substring) {
        self.init(method: HTTPMethod(rawValue: Self.upperCased(method)), path: path)
    }

    /// The route of a request NIO parsed (its method already a case, not text to compare).
    init(method: HTTPMethod, path: Substring) {
        isWrite = method.isWrite
        let reads = method.isGET || method.isHEAD
        let parts = PathComponents(path)
        let api = parts.first == "api"
        let accountPage = reads && parts.count == 2 && parts[0] == "auth" && Self.accountPages.contains(parts[1])
        let dashboard = reads && parts.first == "_" && parts.count <= 2
        let clusterOverview = api && parts.count == 3 && parts[1] == "cluster" && parts[2] == "overview"
        isPublic = (api && !(parts.count >= 2 && (parts[1] == "cluster" || parts[1] == "gateway"))) || accountPage || dashboard || clusterOverview
        isGatewayStatus = api && parts.count == 2 && parts[1] == "gateway"
        isSync = api && parts.count == 2 && parts[1] == "sync"
        isRealtime = api && parts.count == 2 && parts[1] == "realtime"
        let inCollection = api && parts.count >= 4 && parts[1] == "collections"
        isAuth = method.isPOST && inCollection && parts.count == 4 && Self.authActions.contains(parts[3])
        if inCollection, parts[3] == "records", parts.count <= 5 {
            collection = String(parts[2])
            recordID = parts.count == 5 ? String(parts[4]) : nil
        } else {
            collection = nil
            recordID = nil
        }
        isRecordRead = method.isGET && collection != nil
    }

    /// `method` in upper case. Methods arrive upper-case (HTTP tokens): upper-casing a copy is
    /// the rare path.
    static func upperCased(_ method: String) -> String {
        method.utf8.contains { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") } ? method.uppercased() : method
    }

    /// Whether `path` is `/api/realtime` (as ``isRealtime``), without building a route: the
    /// server checks it when a request's head arrives, to bound a subscription body.
    static func isRealtimePath(_ path: Substring) -> Bool {
        let parts = PathComponents(path)
        return parts.count == 2 && parts[0] == "api" && parts[1] == "realtime"
    }

    /// Whether a request may be sent again to another node after the first one failed mid-way:
    /// reads (GET, HEAD, OPTIONS), writes on a named record (PUT/PATCH/DELETE `.../records/{id}`:
    /// the same body sets the same fields), and creates that carry a client-chosen `id`
    /// (`bodyHasID`), which a node applies once. Other writes are not retried.
    public func isIdempotent(method: String, bodyHasID: Bool) -> Bool {
        isIdempotent(method: HTTPMethod(rawValue: Self.upperCased(method)), bodyHasID: bodyHasID)
    }

    func isIdempotent(method: HTTPMethod, bodyHasID: Bool) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS: return true
        case .PUT, .PATCH, .DELETE: return recordID != nil
        case .POST: return collection != nil && recordID == nil && bodyHasID
        default: return false
        }
    }
}
