import ArgumentParser
import Foundation

/// `--cluster-key` / `--cluster-key-file` (else `$STOA_CLUSTER_KEY`), shared by every command that
/// speaks to the cluster (`stoa node`, `stoa gateway`).
struct ClusterKeyOptions: ParsableArguments {
    @Option(help: "Shared cluster key (default: $STOA_CLUSTER_KEY); every cluster message is authenticated with it.")
    var clusterKey: String?

    @Option(help: "File holding the shared cluster key (first line).")
    var clusterKeyFile: String?

    /// The key from the options or the environment; `who` names the command in the error.
    func resolve(for who: String) throws -> String {
        if let clusterKey, !clusterKey.isEmpty { return clusterKey }
        if let clusterKeyFile { return try Self.firstLine(ofFile: clusterKeyFile, option: "--cluster-key-file") }
        if let key = ProcessInfo.processInfo.environment["STOA_CLUSTER_KEY"], !key.isEmpty { return key }
        throw ValidationError("\(who) needs a cluster key: --cluster-key, --cluster-key-file or STOA_CLUSTER_KEY")
    }

    /// The first line of a secret file; an empty file is an error naming `option`.
    static func firstLine(ofFile path: String, option: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let line = text.split(whereSeparator: \.isNewline).first.map(String.init), !line.isEmpty else {
            throw ValidationError("\(option) \(path) is empty")
        }
        return line
    }
}
