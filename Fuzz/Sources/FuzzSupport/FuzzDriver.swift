import Foundation

/// libFuzzer's entry point for programs that have their own `main`: parses libFuzzer's flags
/// from `argv` and calls `callback` once per input.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The entry point libFuzzer's runtime refers to even when a program drives it through
/// `LLVMFuzzerRunDriver` (an unoptimized link keeps the reference); never called here.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzDriver.body?(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// Runs a fuzz target under libFuzzer.
///
/// A target is a function of one input's bytes that returns normally for every input the code
/// under test handles (accepting or rejecting it) and traps — `fatalError`, a failed
/// ``fuzzCheck(_:_:file:line:)``, an arithmetic overflow, an out-of-bounds index — when it finds
/// a bug; libFuzzer then saves the input as `crash-<sha1>` and exits non-zero.
public enum FuzzDriver {
    nonisolated(unsafe) static var body: (([UInt8]) -> Void)?

    /// The environment variable naming a directory to write the target's generated seeds to
    /// (then the program exits instead of fuzzing): seeds that only the code can make, such as
    /// canonical binary encodings, cursors the server issued or signed tokens.
    public static let seedsVariable = "STOA_FUZZ_WRITE_SEEDS"

    /// Hands the process to libFuzzer (command-line flags as libFuzzer reads them) with `target`
    /// as the function under test; never returns.
    ///
    /// - Parameter seeds: named inputs written to the directory in ``seedsVariable`` when it is set.
    public static func run(seeds: () -> [(name: String, bytes: [UInt8])] = { [] }, _ target: @escaping ([UInt8]) -> Void) -> Never {
        if let directory = ProcessInfo.processInfo.environment[seedsVariable] {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for seed in seeds() {
                    // A seed the target rejects by crashing is a bug found before fuzzing began.
                    target(seed.bytes)
                    try Data(seed.bytes).write(to: URL(fileURLWithPath: directory).appendingPathComponent("gen-" + seed.name))
                }
            } catch {
                FileHandle.standardError.write(Data("cannot write seeds to \(directory): \(error)\n".utf8))
                exit(1)
            }
            exit(0)
        }
        body = target
        _ = fuzzerTestOneInput as (UnsafePointer<UInt8>?, Int) -> CInt   // keeps the symbol linked
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            FuzzDriver.body?(bytes)
            return 0
        }
        exit(status)
    }
}
