import ArgumentParser
import Foundation
import StoaCore
import StoaNode
import StoaStore

/// `stoa superuser upsert|delete`: manages `_superusers` accounts in a stopped node's data folder,
/// as PocketBase's `superuser` command does. The change is written as the node's own, so it
/// replicates to every member once the node runs again.
struct SuperuserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "superuser",
        abstract: "Create, update or delete a superuser (the admin dashboard's accounts) in a node's data folder.",
        discussion: """
            The node must be stopped (its database takes writes from the node alone); the account \\
            replicates to the other members when it runs again. A superuser signs in at /_/ and passes \\
            every collection's rules in the Records API.
            """,
        subcommands: [Upsert.self, Delete.self]
    )

    /// The data folder, and the node name its database belongs to.
    struct Target: ParsableArguments {
        @Option(help: "The node's data folder (holds stoa.sqlite).")
        var data: String

        @Option(help: "The node's name; needed only when the data folder has no database yet.")
        var name: String?

        /// Opens the node's database, refusing while the node runs.
        func open() throws -> StoaDatabase {
            let pidFile = LeaveCommand.pidFile(data: data)
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0, kill(pid, 0) == 0 {
                throw ValidationError("a node (process \(pid)) is running on \(data): stop it first (its database takes writes from the node alone)")
            }
            let path = URL(fileURLWithPath: data).appendingPathComponent("stoa.sqlite").path
            let stored = try StoaDatabase.storedNodeName(path: path)
            if let stored, let name, stored != name {
                throw ValidationError("\(path) belongs to node \(stored), not \(name)")
            }
            guard let nodeName = stored ?? name else {
                throw ValidationError("no database in \(data) yet: give --name, the name the node will run with, to create it")
            }
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            return try StoaDatabase(path: path, nodeName: nodeName)
        }
    }

    struct Upsert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a superuser, or set the password of the one with this email (which signs its sessions out)."
        )

        @Argument(help: "The superuser's email.")
        var email: String

        @Argument(help: "Its password (8 to 72 bytes).")
        var password: String

        @OptionGroup var target: Target

        @Option(help: "bcrypt cost of the password hash (as the node's --bcrypt-cost).")
        var bcryptCost: UInt8 = 10

        func validate() throws {
            guard AccountRules.isValidEmail(email) else { throw ValidationError("\(email) is not a valid email address") }
            if let problem = AccountRules.passwordProblem(password) { throw ValidationError("password: \(problem)") }
            guard (4...31).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be in 4...31") }
        }

        func run() async throws {
            let database = try target.open()
            let hash = try await PasswordHasher(cost: bcryptCost).hash(password)
            let fields: [String: FieldValue] = ["passwordHash": .string(hash), "tokenKey": .string(TokenService.newTokenKey())]
            if let existing = try await database.account(.superusers, email: email) {
                _ = try await database.update(.superusers, id: existing.id, owner: nil, fields: fields)
                print("superuser \(existing.text("email")) (\(existing.id)): password set, its sessions signed out")
            } else {
                var rng = SystemRandomNumberGenerator()
                let id = RecordID.generate(using: &rng)
                var all = fields
                all["email"] = .string(email)
                all["verified"] = .bool(true)
                _ = try await database.create(.superusers, id: id, fields: all, unique: ["email"])
                print("superuser \(email) (\(id)) created")
            }
            try database.markCleanShutdown()
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the superuser with this email (cluster-wide, once the node runs).")

        @Argument(help: "The superuser's email.")
        var email: String

        @OptionGroup var target: Target

        func run() async throws {
            let database = try target.open()
            guard let existing = try await database.account(.superusers, email: email) else {
                throw ValidationError("no superuser with email \(email) in \(target.data)")
            }
            try await database.delete(.superusers, id: existing.id, owner: nil)
            try database.markCleanShutdown()
            print("superuser \(email) (\(existing.id)) deleted")
        }
    }
}
