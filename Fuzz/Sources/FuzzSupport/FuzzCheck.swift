/// Stops the fuzzer with `message` when `condition` is false: a property of the code under test
/// that must hold for every input (libFuzzer saves the input that broke it).
///
/// Unlike `precondition`, the message is always printed, whatever the optimization level.
@inline(__always)
public func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("fuzz property failed: \(message())", file: file, line: line) }
}
