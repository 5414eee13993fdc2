// MARK: - RecordFilter

/// A parsed PocketBase-style list `filter` (e.g. `author = "Seneca" && created > "2026-01-01"`),
/// translatable to a SQLite `WHERE` fragment.
///
/// ## Accepted syntax
/// - Operands: a whitelisted field name (see ``FilterFieldSet``), a string in single or
///   double quotes (a backslash before the quote character escapes it; every other
///   backslash is kept literally, as in PocketBase; U+0000 is refused, since SQLite's C
///   interface would cut the bound text there), a number (`42`, `-3`, `0.5`,
///   `-12.75`), `true`, `false`, `null` (keywords are case-insensitive).
/// - Comparison operators: `=`, `!=`, `>`, `>=`, `<`, `<=`, `~` (LIKE / contains), `!~` (NOT LIKE).
///   Either side may be a field or a literal; two fields may be compared.
/// - Logical operators `&&` and `||` (`&&` binds tighter) and parentheses.
/// - Whitespace (including newlines) anywhere between tokens, and `//` comments to end of line.
///
/// ## Rejected (as ``FilterError``)
/// - The any-of operators `?=`, `?!=`, `?>`, `?>=`, `?<`, `?<=`, `?~`, `?!~`, and any other operator.
/// - Macros (`@request…`, `@collection…`, `@now`, …), dotted relation paths and `:modifiers`.
/// - Field names not in the whitelist.
/// - Filters longer than ``maximumLength`` Unicode scalars or nesting parentheses deeper
///   than ``maximumDepth`` levels (checked before recursing, so hostile input cannot
///   overflow the stack).
///
/// ## Semantics (mirroring PocketBase's `tools/search/filter.go`)
/// - `null` and `""` both mean "empty" for `=` and `!=`: `author = null` matches rows whose
///   `author` is `''` or NULL, and `author != null` the others. For `.json` fields, `'[]'` and
///   `'null'` also count as empty.
/// - `!=` is null-safe (`IS NOT`), so a NULL column is "not equal" to any non-empty value.
/// - `>`, `>=`, `<`, `<=` compare directly; a `null` literal is SQL NULL there (as PocketBase's
///   `NULL` identifier), so `author > null` matches nothing.
/// - Numbers are bound as doubles (PocketBase binds a Go `float64`), so against a text column
///   `content = 5` compares with the text `'5.0'`, as PocketBase does.
/// - Strings are compared as written: a date written with `T` is not rewritten to the stored
///   form (PocketBase compares the raw string too).
/// - `~` / `!~` use SQLite `LIKE ... ESCAPE '\'` (ASCII case-insensitive by default), as
///   PocketBase: a right-hand value without an unescaped `%` has its unescaped `\`, `%` and `_`
///   escaped and is wrapped as `%value%` (contains); one with an unescaped `%` is used as the
///   pattern as written, where `\` still escapes the next character. A field on the right
///   is wrapped as `('%' || "col" || '%')`; `null` on either side matches nothing. On a `.json`
///   field, LIKE runs over the raw JSON text, so `tags ~ "stoic"` also matches `["stoicism"]`.
/// - A string `"true"`/`"false"`/`"1"`/`"0"` compared to a `.bool` field becomes integer 1/0.
///
/// ## SQL
/// ``sql()`` never interpolates client values: literals are bound to `?` placeholders, in
/// order, in `arguments`; column names come only from the whitelist and are double-quoted.
public struct RecordFilter: Sendable, Equatable {

    // MARK: Limits

    /// The longest accepted filter, in Unicode scalars.
    public static let maximumLength = 4096

    /// The deepest accepted parenthesis nesting.
    public static let maximumDepth = 32

    // MARK: AST

    /// A comparison operator.
    enum Operator: String, Sendable, Equatable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case greater = ">"
        case greaterOrEqual = ">="
        case less = "<"
        case lessOrEqual = "<="
        case like = "~"
        case notLike = "!~"
    }

    /// One side of a comparison.
    enum Operand: Sendable, Equatable {
        case field(FilterFieldSet.Field)
        case null
        case bool(Bool)
        /// A number literal: its value and its spelling in the filter.
        case number(SQLValue, literal: String)
        case text(String)
    }

    /// A node of the parsed filter. `and`/`or` hold two or more children.
    indirect enum Node: Sendable, Equatable {
        case comparison(Operand, Operator, Operand)
        case and([Node])
        case or([Node])
    }

    /// The parsed condition, or `nil` for an empty filter.
    let root: Node?

    init(root: Node?) {
        self.root = root
    }

    /// The filter that matches every row.
    public static let matchAll = RecordFilter(root: nil)

    /// `true` when the filter was empty (or whitespace/comments only) and imposes no condition.
    public var isEmpty: Bool { root == nil }

    // MARK: Parsing

    /// Parses a client-supplied `filter`, resolving field names against `fields`.
    ///
    /// - Returns: the parsed filter; ``isEmpty`` is `true` for empty/whitespace-only input.
    /// - Throws: ``FilterError`` with a client-facing message for any syntax error,
    ///   unknown or unsupported field, unsupported operator, or exceeded limit.
    public static func parse(_ text: String, fields: FilterFieldSet) throws(FilterError) -> RecordFilter {
        let scalars = Array(text.unicodeScalars)
        if scalars.count > maximumLength {
            throw FilterError(message: "filter is too long: \(scalars.count) characters (at most \(maximumLength) are allowed)")
        }
        var parser = try Parser(scalars: scalars, fields: fields)
        return RecordFilter(root: try parser.parseFilter())
    }

    // MARK: SQL

    /// Translates the filter to a SQLite `WHERE` fragment with `?` placeholders.
    ///
    /// - Returns: `sql` — `1=1` for an empty filter; otherwise a fragment that can be
    ///   combined with `AND`/`OR` without extra parentheses (compound conditions are
    ///   parenthesised). `arguments` — the values for the placeholders, in order.
    public func sql() -> (sql: String, arguments: [SQLValue]) {
        guard let root else { return ("1=1", []) }
        var arguments: [SQLValue] = []
        let sql = Self.render(root, into: &arguments)
        return (sql, arguments)
    }
}

// MARK: - SQL rendering

extension RecordFilter {
    private static func render(_ node: Node, into arguments: inout [SQLValue]) -> String {
        switch node {
        case .and(let children):
            return "(" + children.map { render($0, into: &arguments) }.joined(separator: " AND ") + ")"
        case .or(let children):
            return "(" + children.map { render($0, into: &arguments) }.joined(separator: " OR ") + ")"
        case .comparison(let left, let op, let right):
            switch op {
            case .equal, .notEqual:
                return renderEquality(left, right, negated: op == .notEqual, into: &arguments)
            case .greater, .greaterOrEqual, .less, .lessOrEqual:
                // `null` is SQL NULL here (PocketBase's `NULL` identifier): nothing compares.
                let l = left == .null ? "NULL" : renderValue(left, context: right, into: &arguments)
                let r = right == .null ? "NULL" : renderValue(right, context: left, into: &arguments)
                return "\(l) \(op.rawValue) \(r)"
            case .like, .notLike:
                return renderLike(left, right, negated: op == .notLike, into: &arguments)
            }
        }
    }

    /// `=` / `!=` with PocketBase's "null equals empty" semantics.
    private static func renderEquality(
        _ left: Operand, _ right: Operand, negated: Bool, into arguments: inout [SQLValue]
    ) -> String {
        switch (left, right) {
        case (.field(let a), .field(let b)):
            let op = negated ? "!=" : "="
            return "COALESCE(\(a.quotedColumn), '') \(op) COALESCE(\(b.quotedColumn), '')"
        case (.field(let field), let literal) where literal.isEmptyLiteral,
             (let literal, .field(let field)) where literal.isEmptyLiteral:
            return emptinessTest(field, negated: negated)
        default:
            let op = negated ? "IS NOT" : "="
            let l = renderValue(left, context: right, into: &arguments)
            let r = renderValue(right, context: left, into: &arguments)
            return "\(l) \(op) \(r)"
        }
    }

    /// Whether `field` holds an empty value (`''`, NULL, and for JSON also `[]`/`null`).
    private static func emptinessTest(_ field: FilterFieldSet.Field, negated: Bool) -> String {
        let column = "COALESCE(\(field.quotedColumn), '')"
        if field.kind == .json {
            return "\(column) \(negated ? "NOT IN" : "IN") ('', '[]', 'null')"
        }
        return "\(column) \(negated ? "!=" : "=") ''"
    }

    /// `~` / `!~`: LIKE with `\` as the escape character, and contains-wrapping of a right-hand
    /// value without an unescaped `%` (PocketBase's `wrapLikeParams`).
    private static func renderLike(
        _ left: Operand, _ right: Operand, negated: Bool, into arguments: inout [SQLValue]
    ) -> String {
        let l: String
        if case .field(let field) = left {
            l = field.quotedColumn
        } else {
            arguments.append(left.likeValue)
            l = "?"
        }
        let r: String
        switch right {
        case .field(let field):
            r = "('%' || \(field.quotedColumn) || '%')"
        case .null:
            arguments.append(.null)
            r = "?"
        default:
            arguments.append(.text(likePattern(right.likeText)))
            r = "?"
        }
        return "\(l) \(negated ? "NOT LIKE" : "LIKE") \(r) ESCAPE '\\'"
    }

    /// PocketBase's `wrapLikeParams`: a value with an unescaped `%` is the pattern as written;
    /// any other gets its unescaped `\`, `%` and `_` escaped and is wrapped in `%`.
    static func likePattern(_ value: String) -> String {
        let scalars = Array(value.unicodeScalars)
        if containsUnescaped(scalars, "%") { return value }
        return "%" + escapeUnescaped(scalars, ["\\", "%", "_"]) + "%"
    }

    /// PocketBase's `containsUnescapedChar`: `character` occurs not preceded by a `\` (a `\\`
    /// pair escapes nothing after it).
    static func containsUnescaped(_ scalars: [Unicode.Scalar], _ character: Unicode.Scalar) -> Bool {
        var previous: Unicode.Scalar?
        for scalar in scalars {
            if scalar == character && previous != "\\" { return true }
            previous = scalar == "\\" && previous == "\\" ? nil : scalar
        }
        return false
    }

    /// PocketBase's `escapeUnescapedChars`, scalar for scalar: walking from the end, a `\` is
    /// put before each of `characters` not already preceded by one.
    static func escapeUnescaped(_ scalars: [Unicode.Scalar], _ characters: Set<Unicode.Scalar>) -> String {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(scalars.count + 2)
        var match = false
        for index in stride(from: scalars.count - 1, through: 0, by: -1) {
            if match {
                if scalars[index] != "\\" { result.append("\\") }
                match = false
            } else {
                match = characters.contains(scalars[index])
            }
            result.append(scalars[index])
            if index == 0 && match { result.append("\\") }
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: result.reversed())
        return String(view)
    }

    /// A column reference or a bound placeholder for `operand`, interpreting literals
    /// against the kind of the field on the other side (`context`), if any.
    private static func renderValue(
        _ operand: Operand, context: Operand, into arguments: inout [SQLValue]
    ) -> String {
        if case .field(let field) = operand { return field.quotedColumn }
        let kind: FilterFieldSet.Kind?
        if case .field(let other) = context { kind = other.kind } else { kind = nil }
        arguments.append(operand.boundValue(against: kind))
        return "?"
    }
}

// MARK: - Literal conversion

extension RecordFilter.Operand {
    /// `null` or `""`: the PocketBase notion of an empty value.
    var isEmptyLiteral: Bool {
        switch self {
        case .null: return true
        case .text(let text): return text.isEmpty
        default: return false
        }
    }

    /// The value to bind when compared to a field of `kind` (or to another literal if `nil`).
    func boundValue(against kind: FilterFieldSet.Kind?) -> SQLValue {
        switch self {
        case .field:
            return .null  // Not reached: fields are rendered as columns.
        case .null:
            switch kind {
            case .text?, .date?, .json?: return .text("")
            case .number?, .bool?: return .null
            case nil: return .text("")
            }
        case .bool(let value):
            return .bool(value)
        case .number(let value, _):
            return value
        case .text(let text):
            switch kind {
            case .bool?:
                switch text.lowercased() {
                case "true", "1": return .bool(true)
                case "false", "0": return .bool(false)
                default: return .text(text)
                }
            default:
                return .text(text)
            }
        }
    }

    /// The value to bind on the left of LIKE (`null` is SQL NULL: it matches nothing).
    var likeValue: SQLValue {
        switch self {
        case .null: return .null
        default: return boundValue(against: nil)
        }
    }

    /// The text of a right-hand LIKE value before contains-wrapping: a number as Go's
    /// `cast.ToString(float64)` writes it (`5.0` is `5`), as PocketBase binds it.
    var likeText: String {
        switch self {
        case .field(let field): return field.column  // Not reached: fields are wrapped in SQL.
        case .null: return ""  // Not reached: null is bound as NULL.
        case .bool(let value): return value ? "1" : "0"
        case .number(let value, let literal):
            guard case .real(let double) = value else { return literal }
            if double == double.rounded(), abs(double) < 1e15 { return String(Int64(double)) }
            return String(double)
        case .text(let text): return text
        }
    }
}

// MARK: - Tokens

extension RecordFilter {
    /// A lexical token and the position (Unicode scalar offset) where it starts.
    struct Token: Sendable, Equatable {
        enum Kind: Sendable, Equatable {
            case identifier(String)
            case text(String)
            case number(String)
            case comparison(Operator)
            case and
            case or
            case open
            case close
            case end
        }

        let kind: Kind
        let position: Int

        /// How the token is named in error messages.
        var description: String {
            switch kind {
            case .identifier(let name): return FilterError.quoted(name)
            case .text(let text): return "string " + FilterError.quoted(text)
            case .number(let literal): return "number \(literal)"
            case .comparison(let op): return "operator \"\(op.rawValue)\""
            case .and: return "\"&&\""
            case .or: return "\"||\""
            case .open: return "\"(\""
            case .close: return "\")\""
            case .end: return "end of filter"
            }
        }
    }
}

// MARK: - Lexer

extension RecordFilter {
    /// Splits a filter into tokens on demand, skipping whitespace and `//` comments.
    struct Lexer {
        private let scalars: [Unicode.Scalar]
        private var index = 0

        init(scalars: [Unicode.Scalar]) {
            self.scalars = scalars
        }

        private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            let i = index + offset
            return i < scalars.count ? scalars[i] : nil
        }

        /// The next token; `.end` once the input is exhausted.
        mutating func next() throws(FilterError) -> Token {
            skipTrivia()
            let start = index
            guard let c = peek() else { return Token(kind: .end, position: start) }

            switch c {
            case "(":
                index += 1
                return Token(kind: .open, position: start)
            case ")":
                index += 1
                return Token(kind: .close, position: start)
            case "\"", "'":
                return try scanString(quote: c)
            case "&", "|":
                if peek(1) == c {
                    index += 2
                    return Token(kind: c == "&" ? .and : .or, position: start)
                }
                throw FilterError.at("unexpected character \"\(c)\"", start, hint: "did you mean \"\(c)\(c)\"?")
            case "=", "!", "<", ">", "~", "?":
                return try scanOperator()
            default:
                break
            }
            if Self.isDigit(c) || (c == "-" && peek(1).map(Self.isDigit) == true) {
                return try scanNumber()
            }
            if Self.isIdentifierStart(c) {
                return scanIdentifier()
            }
            throw FilterError.at("unexpected character \"\(c.escaped(asASCII: false))\"", start)
        }

        // MARK: Trivia

        private mutating func skipTrivia() {
            while let c = peek() {
                if c.properties.isWhitespace {
                    index += 1
                } else if c == "/" && peek(1) == "/" {
                    while let d = peek(), d != "\n", d != "\r" { index += 1 }
                } else {
                    return
                }
            }
        }

        // MARK: Strings

        /// A quoted string; `\` before the quote character escapes it, other backslashes are literal.
        private mutating func scanString(quote: Unicode.Scalar) throws(FilterError) -> Token {
            let start = index
            index += 1
            var text = String.UnicodeScalarView()
            while let c = peek() {
                if c == "\\" && peek(1) == quote {
                    text.append(quote)
                    index += 2
                } else if c == "\0" {
                    throw FilterError.at("the NUL character (U+0000) is not allowed in a string", index)
                } else if c == quote {
                    index += 1
                    return Token(kind: .text(String(text)), position: start)
                } else {
                    text.append(c)
                    index += 1
                }
            }
            throw FilterError.at("unterminated string starting", start)
        }

        // MARK: Operators

        private mutating func scanOperator() throws(FilterError) -> Token {
            let start = index
            var text = ""
            while let c = peek(), "=!<>~?".unicodeScalars.contains(c) {
                text.unicodeScalars.append(c)
                index += 1
            }
            if let op = Operator(rawValue: text) {
                return Token(kind: .comparison(op), position: start)
            }
            if text.hasPrefix("?") {
                throw FilterError.at(
                    "unsupported operator \(FilterError.quoted(text))", start,
                    hint: "the any-of operators ?=, ?!=, ?>, ?>=, ?<, ?<=, ?~ and ?!~ are not supported")
            }
            throw FilterError.at(
                "unsupported operator \(FilterError.quoted(text))", start,
                hint: "use =, !=, >, >=, <, <=, ~ or !~")
        }

        // MARK: Numbers

        /// `-?digits(.digits)?`, not directly followed by a letter, digit, `_` or `.`.
        private mutating func scanNumber() throws(FilterError) -> Token {
            let start = index
            if peek() == "-" { index += 1 }
            while let c = peek(), Self.isDigit(c) { index += 1 }
            if peek() == ".", let d = peek(1), Self.isDigit(d) {
                index += 1
                while let c = peek(), Self.isDigit(c) { index += 1 }
            }
            if let c = peek(), Self.isIdentifierPart(c) {
                while let c = peek(), Self.isIdentifierPart(c) || c == "-" { index += 1 }
                throw FilterError.at("invalid number \(FilterError.quoted(substring(start, index)))", start)
            }
            return Token(kind: .number(substring(start, index)), position: start)
        }

        // MARK: Identifiers

        /// A field name, keyword or (unsupported) macro/path: `[A-Za-z_@#][A-Za-z0-9_.@#:]*`.
        private mutating func scanIdentifier() -> Token {
            let start = index
            while let c = peek(), Self.isIdentifierPart(c) { index += 1 }
            return Token(kind: .identifier(substring(start, index)), position: start)
        }

        // MARK: Character classes

        private func substring(_ from: Int, _ to: Int) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[from..<to])
            return String(view)
        }

        private static func isDigit(_ c: Unicode.Scalar) -> Bool {
            ("0"..."9").contains(c)
        }

        private static func isLetter(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c)
        }

        private static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
            isLetter(c) || c == "_" || c == "@" || c == "#"
        }

        private static func isIdentifierPart(_ c: Unicode.Scalar) -> Bool {
            isIdentifierStart(c) || isDigit(c) || c == "." || c == ":"
        }
    }
}

// MARK: - Parser

extension RecordFilter {
    /// Recursive-descent parser:
    /// ```
    /// filter     := expression? END
    /// expression := conjunction ("||" conjunction)*
    /// conjunction:= primary ("&&" primary)*
    /// primary    := "(" expression ")" | operand OPERATOR operand
    /// ```
    /// Parenthesis depth is checked before recursing.
    struct Parser {
        private var lexer: Lexer
        private var current: Token
        private let fields: FilterFieldSet

        init(scalars: [Unicode.Scalar], fields: FilterFieldSet) throws(FilterError) {
            var lexer = Lexer(scalars: scalars)
            self.current = try lexer.next()
            self.lexer = lexer
            self.fields = fields
        }

        private mutating func advance() throws(FilterError) {
            current = try lexer.next()
        }

        /// The whole filter; `nil` when it contains no tokens.
        mutating func parseFilter() throws(FilterError) -> Node? {
            if current.kind == .end { return nil }
            let node = try parseExpression(depth: 0)
            switch current.kind {
            case .end:
                return node
            case .close:
                throw FilterError.at("unmatched \")\"", current.position)
            default:
                throw FilterError.at("expected \"&&\" or \"||\" but found \(current.description)", current.position)
            }
        }

        private mutating func parseExpression(depth: Int) throws(FilterError) -> Node {
            var terms = [try parseConjunction(depth: depth)]
            while current.kind == .or {
                try advance()
                let term = try parseConjunction(depth: depth)
                if case .or(let children) = term { terms += children } else { terms.append(term) }
            }
            if case .or(let children) = terms[0], terms.count > 1 {
                terms = children + terms.dropFirst()
            }
            return terms.count == 1 ? terms[0] : .or(terms)
        }

        private mutating func parseConjunction(depth: Int) throws(FilterError) -> Node {
            var terms = [try parsePrimary(depth: depth)]
            while current.kind == .and {
                try advance()
                let term = try parsePrimary(depth: depth)
                if case .and(let children) = term { terms += children } else { terms.append(term) }
            }
            if case .and(let children) = terms[0], terms.count > 1 {
                terms = children + terms.dropFirst()
            }
            return terms.count == 1 ? terms[0] : .and(terms)
        }

        private mutating func parsePrimary(depth: Int) throws(FilterError) -> Node {
            guard current.kind == .open else { return try parseComparison() }
            let open = current.position
            if depth >= RecordFilter.maximumDepth {
                throw FilterError.at(
                    "parentheses are nested deeper than \(RecordFilter.maximumDepth) levels", open)
            }
            try advance()
            if current.kind == .close {
                throw FilterError.at("empty parentheses", open)
            }
            let inner = try parseExpression(depth: depth + 1)
            switch current.kind {
            case .close:
                try advance()
                return inner
            case .end:
                throw FilterError.at("unexpected end of filter: missing \")\" to close the \"(\"", open)
            default:
                throw FilterError.at(
                    "expected \"&&\", \"||\" or \")\" but found \(current.description)", current.position)
            }
        }

        private mutating func parseComparison() throws(FilterError) -> Node {
            let left = try parseOperand()
            guard case .comparison(let op) = current.kind else {
                if current.kind == .end {
                    throw FilterError(message: "unexpected end of filter: expected an operator such as = after the operand")
                }
                throw FilterError.at("expected an operator such as = but found \(current.description)", current.position)
            }
            try advance()
            let right = try parseOperand()
            return .comparison(left, op, right)
        }

        private mutating func parseOperand() throws(FilterError) -> Operand {
            let token = current
            let operand: Operand
            switch token.kind {
            case .identifier(let name):
                operand = try resolve(identifier: name, at: token.position)
            case .text(let text):
                operand = .text(text)
            case .number(let literal):
                operand = try number(literal, at: token.position)
            case .end:
                throw FilterError(message: "unexpected end of filter: expected a field or value")
            default:
                throw FilterError.at("expected a field or value but found \(token.description)", token.position)
            }
            try advance()
            return operand
        }

        private func resolve(identifier name: String, at position: Int) throws(FilterError) -> Operand {
            switch name.lowercased() {
            case "null": return .null
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: break
            }
            if name.hasPrefix("@") {
                throw FilterError.at(
                    "unsupported macro \(FilterError.quoted(name))", position,
                    hint: "@request, @collection, @now and other macros are not supported")
            }
            if name.contains(".") || name.contains(":") || name.contains("#") {
                throw FilterError.at(
                    "unsupported field \(FilterError.quoted(name))", position,
                    hint: "relation paths and :modifiers are not supported")
            }
            guard let field = fields.field(named: name) else {
                throw FilterError.at("unknown field \(FilterError.quoted(name))", position)
            }
            return .field(field)
        }

        /// A number literal, bound as a double as PocketBase binds it (`cast.ToFloat64`).
        private func number(_ literal: String, at position: Int) throws(FilterError) -> Operand {
            if let value = Double(literal), value.isFinite {
                return .number(.real(value), literal: literal)
            }
            throw FilterError.at("number \(FilterError.quoted(literal)) is out of range", position)
        }
    }
}
