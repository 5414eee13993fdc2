/// One known cluster member as seen by the local ``SWIMInstance``.
public struct Member: Sendable, Hashable {
    public let id: MemberID
    public var status: MemberStatus
    /// The member's incarnation number (SWIM §4.2): only the member itself raises it, to
    /// refute a suspicion; a claim with a higher incarnation overrides older claims.
    public var incarnation: UInt64
    /// Opaque data the member announces about itself (Stoa: its HTTP URL); `""` for none.
    public var meta: String
    /// The `now` (milliseconds) at which ``status`` last changed, or the member was learned.
    public var lastChange: UInt64

    public init(id: MemberID, status: MemberStatus, incarnation: UInt64, meta: String, lastChange: UInt64) {
        self.id = id
        self.status = status
        self.incarnation = incarnation
        self.meta = meta
        self.lastChange = lastChange
    }
}
