/// The trace of a run: one line per observable step (message sent, lost or delivered, write
/// acknowledged or refused, membership change, fault), hashed as it is written.
///
/// The hash (FNV-1a over the lines) identifies the run: the same scenario and seed MUST give
/// the same hash in every process. Lines are kept only when asked (`stoa sim run --trace`).
struct TraceRecorder {
    private(set) var hasher = FNV1a()
    private(set) var lineCount = 0
    private(set) var lines: [String]?

    init(keepLines: Bool) { lines = keepLines ? [] : nil }

    mutating func record(_ line: String) {
        hasher.combine(line: line)
        lineCount += 1
        lines?.append(line)
    }

    var hash: String { hasher.hex }
}
