import StoaCore

/// One edit a device made offline, sent in a `POST /api/sync` batch.
///
/// Its stamp is the device's own: the device's clock reading and the device's id. Replaying the
/// same edit builds the same delta with the same stamp, which merging makes a no-op, so a batch
/// sent twice (to the same node or to another) changes nothing the second time.
public struct DeviceEdit: Sendable, Equatable {
    public enum Operation: Sendable, Equatable {
        /// Create the record when it was never created (its fields must hold `content`), otherwise
        /// update the given fields and the tag edit, if any.
        case upsert(fields: [String: FieldValue], tags: TagEdit?)
        /// Delete the record (nothing when already deleted).
        case delete
        /// Restore the record from the trash (nothing when live).
        case restore
    }

    public var id: String
    public var stamp: Stamp
    public var operation: Operation

    public init(id: String, stamp: Stamp, operation: Operation) {
        self.id = id
        self.stamp = stamp
        self.operation = operation
    }

    /// The stamp of an edit made on `device` at `millis` (Unix milliseconds) with `counter`
    /// distinguishing edits made within one millisecond. Device stamps sort after node stamps
    /// of the same reading (`~` sorts after node names) and never collide with them.
    public static func stamp(device: String, millis: UInt64, counter: UInt16) -> Stamp {
        Stamp(hlc: HLCTimestamp(millis: millis, counter: counter), node: "~device:" + device)
    }
}

/// Why a device batch was refused; nothing of the batch was written.
public struct DeviceEditError: Error, Equatable, Sendable {
    public enum Reason: Equatable, Sendable {
        /// No record with that id the user owns (or, for delete/restore, none at all).
        case notFound
        /// Creating the record needs this field.
        case required(String)
        /// The edit's time is further ahead of this node's clock than the drift bound allows.
        case timeInFuture
    }

    /// The position of the refused edit in the batch.
    public let index: Int
    public let reason: Reason
}

/// What a device batch did: the records it touched as they now are, and counts.
public struct DeviceSyncResult: Sendable, Equatable {
    /// The touched records that are live, as merged now, in batch order.
    public var records: [StoredRecord] = []
    /// The ids of touched records that are deleted now.
    public var deleted: [String] = []
    /// Edits that changed the record (each became one change, replicated like any write).
    public var applied = 0
    /// Edits that changed nothing (already merged: a resent batch).
    public var unchanged = 0
}

/// A page of `/api/sync`: a user's records changed since a cursor.
public struct SyncPage: Sendable, Equatable {
    /// Records changed since the cursor that are live, as merged now.
    public var records: [StoredRecord]
    /// Ids of records changed since the cursor that are deleted now.
    public var deleted: [String]
    /// Where to continue: the next page, or (on the last page) everything this node had.
    public var cursor: SyncPosition
    /// True when more changes follow: ask again with ``cursor``.
    public var hasMore: Bool
}
