import StoaCore
@testable import StoaStore

/// A device of the quote app for sync tests: a local copy of its user's quotes kept up to date
/// through `syncPage`, and edits made offline queued until the next sync.
final class SimulatedDevice {
    let name: String
    let owner: String
    /// The device's view: live records by id.
    private(set) var records: [String: StoredRecord] = [:]
    private(set) var cursor = SyncPosition()
    private(set) var pending: [DeviceEdit] = []
    /// The last batch sent (to test resending it).
    private(set) var lastBatch: [DeviceEdit] = []
    private var millis: UInt64
    private var counter: UInt16 = 0
    let pageSize: Int

    init(_ name: String, owner: String, startMillis: UInt64, pageSize: Int = 7) {
        self.name = name
        self.owner = owner
        self.millis = startMillis
        self.pageSize = pageSize
    }

    /// Records an edit made offline at the device's clock, which then moves on by `after` ms.
    func edit(_ id: String, _ operation: DeviceEdit.Operation, after: UInt64 = 5) {
        pending.append(DeviceEdit(id: id, stamp: DeviceEdit.stamp(device: name, millis: millis, counter: counter), operation: operation))
        counter &+= 1
        millis += after
    }

    /// Sends the queued edits to `node`, then pulls every page since the device's cursor.
    @discardableResult
    func sync(with node: StoaDatabase) async throws -> (pushed: DeviceSyncResult?, pages: Int) {
        var pushed: DeviceSyncResult?
        if !pending.isEmpty {
            pushed = try await node.applyDeviceEdits(pending, owner: owner)
            lastBatch = pending
            pending = []
        }
        var pages = 0
        while true {
            let page = try await node.syncPage(owner: owner, since: cursor, limit: pageSize)
            pages += 1
            for record in page.records { records[record.id] = record }
            for id in page.deleted { records[id] = nil }
            cursor = page.cursor
            if !page.hasMore { break }
        }
        return (pushed, pages)
    }
}

extension StoaDatabase {
    /// Every live quote of `owner`, by id (all pages).
    func quotes(of owner: String) async throws -> [String: StoredRecord] {
        var out: [String: StoredRecord] = [:]
        var page = 1
        while true {
            let result = try await list(.quotes, query: ListQuery(owner: owner, page: page, perPage: 1000))
            for record in result.items { out[record.id] = record }
            if page >= result.totalPages { return out }
            page += 1
        }
    }
}
