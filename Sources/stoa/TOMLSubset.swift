import Foundation

/// A reader for the small subset of TOML the cluster files use: comments, `key = value` with
/// basic strings, integers and booleans, `[table]` and `[[array of tables]]`.
///
/// Anything else (inline tables, arrays, dotted keys, multi-line strings, dates) is rejected
/// with the line number, never guessed. No TOML package resolves on this toolchain's package
/// set (TOMLKit depends on a package that is not available), hence this reader.
struct TOMLSubset: Sendable {
    enum Value: Sendable, Equatable {
        case string(String)
        case integer(Int)
        case bool(Bool)
    }

    typealias Table = [String: Value]

    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    private(set) var root: Table = [:]
    private(set) var tables: [String: Table] = [:]
    private(set) var arrays: [String: [Table]] = [:]

    init(_ text: String) throws(ParseError) {
        enum Target { case root, table(String), array(String) }
        var target = Target.root
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = Self.stripComment(rawLine).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[[") {
                guard line.hasSuffix("]]") else { throw ParseError(line: number, message: "unterminated [[table]] header") }
                let name = try Self.key(String(line.dropFirst(2).dropLast(2)), line: number)
                arrays[name, default: []].append([:])
                target = .array(name)
            } else if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw ParseError(line: number, message: "unterminated [table] header") }
                let name = try Self.key(String(line.dropFirst().dropLast()), line: number)
                guard tables[name] == nil else { throw ParseError(line: number, message: "table [\(name)] defined twice") }
                tables[name] = [:]
                target = .table(name)
            } else {
                guard let equals = line.firstIndex(of: "=") else { throw ParseError(line: number, message: "expected key = value") }
                let key = try Self.key(String(line[..<equals]), line: number)
                let value = try Self.value(String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces), line: number)
                func put(_ table: inout Table) throws(ParseError) {
                    guard table[key] == nil else { throw ParseError(line: number, message: "key \(key) defined twice") }
                    table[key] = value
                }
                switch target {
                case .root: try put(&root)
                case .table(let name):
                    var table = tables[name] ?? [:]
                    try put(&table)
                    tables[name] = table
                case .array(let name):
                    var list = arrays[name] ?? [[:]]
                    var last = list.removeLast()
                    try put(&last)
                    list.append(last)
                    arrays[name] = list
                }
            }
        }
    }

    /// The line without a `#` comment (a `#` inside a string is kept).
    private static func stripComment(_ line: Substring) -> String {
        var inString = false, escaped = false, out = ""
        for character in line {
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
            } else if character == "\"" {
                inString = true
            } else if character == "#" {
                break
            }
            out.append(character)
        }
        return out
    }

    private static func key(_ text: String, line: Int) throws(ParseError) -> String {
        let key = text.trimmingCharacters(in: .whitespaces)
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw ParseError(line: line, message: "unsupported key \"\(key)\" (bare keys of letters, digits, _ and - only)")
        }
        return key
    }

    private static func value(_ text: String, line: Int) throws(ParseError) -> Value {
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let number = Int(text.replacingOccurrences(of: "_", with: "")) { return .integer(number) }
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\""), !text.hasPrefix("\"\"\"") else {
            throw ParseError(line: line, message: "unsupported value \(text) (strings in \"...\", integers and booleans only)")
        }
        var out = "", escaped = false
        for character in text.dropFirst().dropLast() {
            if escaped {
                switch character {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\"", "\\": out.append(character)
                default: throw ParseError(line: line, message: "unsupported escape \\\(character)")
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                throw ParseError(line: line, message: "unescaped quote inside a string")
            } else {
                out.append(character)
            }
        }
        guard !escaped else { throw ParseError(line: line, message: "string ends with a backslash") }
        return .string(out)
    }
}
