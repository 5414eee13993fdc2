import StoaCore
import StoaStore

/// A write a node acknowledged to a client: what the client asked for, and where the node
/// recorded it (its origin and sequence number; the change itself is read from the origin's
/// log at the end of the run).
public struct AcknowledgedWrite: Sendable, Equatable {
    public var origin: String
    public var seq: UInt64
    public var kind: OperationKind
    public var recordID: String
    /// True time of the acknowledgement, in milliseconds since the start of the run.
    public var atMillis: UInt64
    /// The text fields the client set.
    public var requestedFields: [String: FieldValue]
    /// The tag list of a create, or `nil`.
    public var requestedTags: [String]?
    /// The tag edit of a `tags` write, or `nil`.
    public var requestedTagEdit: TagEdit?
    /// The device that made the write (a device edit is stamped with the device as its node),
    /// `nil` for a write through the Records API (stamped with its origin).
    public var device: String? = nil
    /// The change the origin committed for it, with the write's own delta (as the store's
    /// commit observer reported it).
    public var change: Change

    /// The node a change of this write is stamped with.
    public var stampNode: String { device.map { DeviceEdit.stamp(device: $0, millis: 0, counter: 0).node } ?? origin }

    /// `origin#seq kind record`, for messages.
    public var label: String { "\(origin)#\(seq) \(kind.rawValue) \(recordID)" }
}
