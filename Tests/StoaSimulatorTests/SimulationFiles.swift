import Foundation
import StoaSimulator

/// Where the scenario files, the regression seeds and the `stoa` executable are.
enum SimulationFiles {
    /// The repository root (this file is `Tests/StoaSimulatorTests/SimulationFiles.swift`).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let directory = root.appendingPathComponent("simulations")

    /// Every scenario file in `simulations/`, by name.
    static var scenarios: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { directory.appendingPathComponent($0).path }
    }

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func scenario(_ name: String) throws -> Scenario { try Scenario.load(path: path(name)) }

    /// The `stoa` executable built next to the test bundle.
    static var binary: URL {
        let testBundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBundle.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("stoa").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("stoa")
    }
}
