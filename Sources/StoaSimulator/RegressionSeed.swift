import Foundation

/// A seed that once failed, kept so every test run replays it.
///
/// File format (`simulations/regressions/*.txt`): one entry per line, `SCENARIO SEED`
/// optionally followed by `# note`; `SCENARIO` is a scenario file name relative to
/// `simulations/`; blank lines and lines starting with `#` are ignored.
public struct RegressionSeed: Sendable, Equatable {
    public var scenarioFile: String
    public var seed: UInt64
    public var note: String

    public init(scenarioFile: String, seed: UInt64, note: String = "") {
        self.scenarioFile = scenarioFile
        self.seed = seed
        self.note = note
    }

    /// Parses the text of one regressions file.
    public static func parse(_ text: String, source: String = "regressions") throws -> [RegressionSeed] {
        var out: [RegressionSeed] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine)
            var note = ""
            if let hash = line.firstIndex(of: "#") {
                note = line[line.index(after: hash)...].trimmingCharacters(in: .whitespaces)
                line = line[..<hash]
            }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if words.isEmpty { continue }
            guard words.count == 2, let seed = UInt64(words[1]) else {
                throw ScenarioError("\(source):\(number + 1): expected `SCENARIO SEED [# note]`")
            }
            out.append(RegressionSeed(scenarioFile: String(words[0]), seed: seed, note: note))
        }
        return out
    }

    /// Every entry of every `*.txt` file in `directory`, files in name order.
    public static func load(directory: String) throws -> [RegressionSeed] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var out: [RegressionSeed] = []
        for name in names.sorted() where name.hasSuffix(".txt") {
            let path = (directory as NSString).appendingPathComponent(name)
            out += try parse(try String(contentsOfFile: path, encoding: .utf8), source: path)
        }
        return out
    }
}
