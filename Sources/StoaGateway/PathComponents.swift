/// What ``RequestRoute`` reads of a request's path: how many components it has between `/`s
/// (empty ones skipped: `//api//sync/` is `api`, `sync`) and the first ``kept`` of them, found in
/// one scan of its bytes and held inline (no array is allocated per request).
///
/// The components are those `split(separator: "/")` gives, found as bytes (`/` is ASCII) because
/// a Character split runs grapheme breaking on every request. The two differ only where a `/` is
/// followed by a combining scalar (not ASCII, so not in a well-formed target), which the byte
/// scan splits and a Character split does not; no such component is a word a node's router
/// matches, so no internal path can pass for a public one.
struct PathComponents {
    /// How many components are kept: a route reads at most five
    /// (`api/collections/{collection}/records/{id}`).
    static let kept = 5

    /// How many components the path has (all of them, also past ``kept``).
    private(set) var count = 0
    private let path: Substring
    /// The first ``kept`` components' bounds in `path` (indices only: copying them retains nothing).
    private var bounds: (Range<String.Index>, Range<String.Index>, Range<String.Index>, Range<String.Index>, Range<String.Index>)

    init(_ path: Substring) {
        self.path = path
        let none = path.startIndex..<path.startIndex
        bounds = (none, none, none, none, none)
        let bytes = path.utf8
        var start = bytes.startIndex
        var index = start
        while index != bytes.endIndex {
            if bytes[index] == UInt8(ascii: "/") {
                if start != index { append(start..<index) }
                start = bytes.index(after: index)
            }
            index = bytes.index(after: index)
        }
        if start != bytes.endIndex { append(start..<bytes.endIndex) }
    }

    private mutating func append(_ range: Range<String.Index>) {
        switch count {
        case 0: bounds.0 = range
        case 1: bounds.1 = range
        case 2: bounds.2 = range
        case 3: bounds.3 = range
        case 4: bounds.4 = range
        default: break
        }
        count += 1
    }

    /// The first component, or nil for a path without any (`/`).
    var first: Substring? { count > 0 ? path[bounds.0] : nil }

    /// Component `index`; `index` must be below both ``count`` and ``kept``.
    subscript(index: Int) -> Substring {
        precondition(index < count && index < Self.kept, "no such path component")
        switch index {
        case 0: return path[bounds.0]
        case 1: return path[bounds.1]
        case 2: return path[bounds.2]
        case 3: return path[bounds.3]
        default: return path[bounds.4]
        }
    }
}
