import ArgumentParser
import Foundation
import StoaStore

/// `stoa backup --data DIR --to FILE`: a consistent online copy of a (running) node's database.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a node's database into a new file, online (the node keeps serving and writing).",
        discussion: """
            To restore: make a new data folder, copy the file into it as stoa.sqlite, and start the node \\
            with the same --name (and --join). It takes a new origin epoch, joins, and catches up what it \\
            missed since the backup.
            """
    )

    @Option(help: "The node's data folder (holds stoa.sqlite).")
    var data: String

    @Option(help: "The backup file to create (must not exist).")
    var to: String

    func run() throws {
        let source = URL(fileURLWithPath: data).appendingPathComponent("stoa.sqlite").path
        guard FileManager.default.fileExists(atPath: source) else { throw ValidationError("no database at \(source)") }
        print("backing up \(source) to \(to) ...")
        let report = try StoaDatabase.backup(databaseAt: source, to: to)
        print(String(format: "backup done: %@, %.1f MB (%d pages) in %.2f s", to, Double(report.bytes) / 1_000_000, report.pages, report.seconds))
    }
}
