/// One membership claim piggybacked on SWIM messages (SWIM §4.1, infection-style
/// dissemination): "`id` is `status` at `incarnation`".
///
/// Claims are merged with the precedence rules of SWIM §4.2 (see
/// ``SWIMInstance/onMessage(_:now:rng:)``), so applying the same claims in any order and any
/// number of times gives the same view.
public struct MemberUpdate: Sendable, Hashable {
    public let id: MemberID
    public let status: MemberStatus
    /// At most ``maxIncarnation``.
    public let incarnation: UInt64
    public let meta: String
    /// For `suspect` claims: the name of the member whose failed probe raised the suspicion.
    /// Distinct accusers count as independent confirmations that shorten the suspicion
    /// timeout (Lifeguard §IV-B). `nil` for other claims or when unknown.
    public let accuser: String?

    /// The largest incarnation a claim may carry. A member refutes a claim about itself by
    /// taking the claim's incarnation plus one; no member comes near it honestly, and the wire
    /// decoder rejects a larger one, so that addition never overflows on a peer's number.
    public static let maxIncarnation = UInt64(Int64.max)

    public init(id: MemberID, status: MemberStatus, incarnation: UInt64, meta: String, accuser: String? = nil) {
        self.id = id
        self.status = status
        self.incarnation = incarnation
        self.meta = meta
        self.accuser = accuser
    }
}
