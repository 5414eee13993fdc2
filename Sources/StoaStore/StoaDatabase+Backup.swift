import Foundation
import GRDB

// MARK: - Online backups

/// What ``StoaDatabase/backup(databaseAt:to:)`` made.
public struct BackupReport: Sendable, Equatable {
    /// Bytes of the backup file.
    public var bytes: Int64
    /// Pages copied.
    public var pages: Int
    /// Wall time the copy took, in seconds.
    public var seconds: Double
}

extension StoaDatabase {
    /// Copies the database at `path` — typically a running node's `stoa.sqlite`, which keeps
    /// serving and writing meanwhile — into a new file at `destination`, with SQLite's online
    /// backup API: the copy is one consistent snapshot of the database as of one transaction.
    ///
    /// A node started on the copy (the file renamed `stoa.sqlite` in a data folder, same node
    /// name) takes a new origin epoch, because the copy was taken from a node that had not shut
    /// down: it never reuses a sequence number its peers already hold, and catches up what it
    /// missed since the copy (by state transfer when the peers compacted past it).
    ///
    /// - Throws: ``StoreError/backupDestinationExists`` when `destination` exists; GRDB errors.
    public static func backup(databaseAt path: String, to destination: String) throws -> BackupReport {
        guard !FileManager.default.fileExists(atPath: destination) else { throw StoreError.backupDestinationExists(destination) }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        let started = Date()
        let source = try DatabaseQueue(path: path, configuration: configuration)
        let target = try DatabaseQueue(path: destination)
        var pages = 0
        // One step: the whole copy reads one snapshot (a stepwise copy of a file another
        // process writes to would restart at every write).
        try source.backup(to: target, pagesPerStep: -1) { progress in pages = progress.totalPageCount }
        try target.writeWithoutTransaction { db in
            // The copy is a plain file (no write-ahead log beside it).
            try db.execute(sql: "PRAGMA journal_mode = DELETE")
        }
        try target.close()
        try source.close()
        let bytes = (try FileManager.default.attributesOfItem(atPath: destination)[.size] as? NSNumber)?.int64Value ?? 0
        return BackupReport(bytes: bytes, pages: pages, seconds: Date().timeIntervalSince(started))
    }
}
