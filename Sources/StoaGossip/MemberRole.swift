/// What a member's announced ``Member/meta`` says it is. Data nodes announce their HTTP URL; a
/// gateway announces `gateway;` followed by its HTTP URL. A gateway holds no data: nodes MUST
/// leave it out of replication (no pushes, no anti-entropy), while SWIM probes it like any member.
public enum MemberRole: Sendable, Equatable {
    case node(httpURL: String)
    case gateway(httpURL: String)

    static let gatewayPrefix = "gateway;"

    /// Reads a member's meta.
    public init(meta: String) {
        if meta.hasPrefix(Self.gatewayPrefix) {
            self = .gateway(httpURL: String(meta.dropFirst(Self.gatewayPrefix.count)))
        } else {
            self = .node(httpURL: meta)
        }
    }

    /// The meta to announce for this role.
    public var meta: String {
        switch self {
        case .node(let url): return url
        case .gateway(let url): return Self.gatewayPrefix + url
        }
    }

    /// True for members that hold data (and so take part in replication).
    public var holdsData: Bool {
        if case .node = self { return true }
        return false
    }
}
