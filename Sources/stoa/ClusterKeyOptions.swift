import ArgumentParser
import Foundation
import Logging
import UnixSignals
import StoaNode

/// `--cluster-key` (repeatable) or `--cluster-key-file` (else `$STOA_CLUSTER_KEY`), shared by
/// every command that speaks to the cluster (`stoa node`, `stoa gateway`).
///
/// The keys form a keyring (``ClusterKeyring``): the first is primary (messages are sealed with
/// it), all are accepted. A key file holds one key per line (empty lines skipped) and is read
/// again on SIGHUP (``reloadOnHangup(_:logger:)``), so keys rotate without a restart.
struct ClusterKeyOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Cluster key (default: $STOA_CLUSTER_KEY); repeat to accept several: the first is the primary messages are sealed with, all are accepted.",
        valueName: "key"
    ))
    var clusterKey: [String] = []

    @Option(help: "File of cluster keys, one per line, the first primary; read again on SIGHUP.")
    var clusterKeyFile: String?

    /// The keys from the options, the file or the environment, primary first; `who` names the
    /// command in the error.
    func resolve(for who: String) throws -> [String] {
        if !clusterKey.isEmpty, clusterKeyFile != nil {
            throw ValidationError("give the cluster keys with --cluster-key or --cluster-key-file, not both")
        }
        if clusterKey.contains(where: \.isEmpty) { throw ValidationError("--cluster-key is empty") }
        if !clusterKey.isEmpty { return clusterKey }
        if let clusterKeyFile { return try Self.keys(inFile: clusterKeyFile) }
        if let key = ProcessInfo.processInfo.environment["STOA_CLUSTER_KEY"], !key.isEmpty { return [key] }
        throw ValidationError("\(who) needs a cluster key: --cluster-key, --cluster-key-file or STOA_CLUSTER_KEY")
    }

    /// The keyring of ``resolve(for:)``.
    func keyring(for who: String) throws -> ClusterKeyring {
        ClusterKeyring(keys: try resolve(for: who))
    }

    /// Re-reads `--cluster-key-file` into `keyring` on every SIGHUP until cancelled (SIGHUP no
    /// longer stops the process). A file that cannot be read or holds no key leaves the keys as
    /// they were, and says so; without a key file, SIGHUP is logged and ignored.
    func reloadOnHangup(_ keyring: ClusterKeyring, logger: Logger) async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            guard let clusterKeyFile else {
                logger.warning("SIGHUP: no --cluster-key-file to read again; keys unchanged")
                continue
            }
            do {
                let keys = try Self.keys(inFile: clusterKeyFile)
                keyring.replace(keys: keys)
                logger.notice("SIGHUP: cluster keys read again from \(clusterKeyFile)", metadata: [
                    "primary": "\(keyring.primary.idHex)", "accepted": "\(keyring.keys.map(\.idHex))",
                ])
            } catch {
                logger.error("SIGHUP: \(clusterKeyFile): \(error); cluster keys unchanged")
            }
        }
    }

    /// The non-empty lines of a key file, in order; a file without one is an error.
    static func keys(inFile path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let keys = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !keys.isEmpty else { throw ValidationError("--cluster-key-file \(path) holds no key") }
        return keys
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
