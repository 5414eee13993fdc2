/// A SWIM message with its sender's identity and current incarnation.
///
/// Receiving an envelope is itself evidence that the sender is alive at `fromIncarnation`:
/// the receiver applies that claim before the piggybacked ones, so a sender that is not yet
/// known joins the receiver's view.
public struct SWIMEnvelope: Sendable, Hashable {
    public let from: MemberID
    public let fromMeta: String
    public let fromIncarnation: UInt64
    public let message: SWIMMessage

    public init(from: MemberID, fromMeta: String, fromIncarnation: UInt64, message: SWIMMessage) {
        self.from = from
        self.fromMeta = fromMeta
        self.fromIncarnation = fromIncarnation
        self.message = message
    }
}
