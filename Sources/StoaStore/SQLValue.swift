// MARK: - SQLValue

/// A value bound to a `?` placeholder in a SQL fragment produced by
/// ``RecordFilter/sql()``.
///
/// Contract:
/// - Values are always bound as parameters, never spliced into SQL text.
/// - Booleans are represented as ``integer(_:)`` with `0` (false) or `1` (true),
///   matching how SQLite stores booleans.
/// - ``null`` binds SQL `NULL`.
public enum SQLValue: Sendable, Equatable {
    /// SQL `NULL`.
    case null
    /// A 64-bit signed integer (also used for booleans: 0 or 1).
    case integer(Int64)
    /// A double-precision floating point number.
    case real(Double)
    /// A UTF-8 text value.
    case text(String)
}

// MARK: - Convenience

extension SQLValue {
    /// The SQLite representation of a boolean: `integer(1)` or `integer(0)`.
    static func bool(_ value: Bool) -> SQLValue {
        .integer(value ? 1 : 0)
    }
}
