import ArgumentParser

/// The one Stoa executable.
@main
struct Stoa: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stoa",
        abstract: "Stoa: a PocketBase-compatible sync backend for the Meditations quote app.",
        subcommands: [NodeGroup.self, GatewayCommand.self, ClusterCommand.self, SuperuserCommand.self, SimCommand.self, BenchCommand.self, BackupCommand.self]
    )
}
