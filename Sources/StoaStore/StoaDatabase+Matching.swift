import Foundation
import GRDB
import StoaCore

// MARK: - Evaluating a filter against one record

extension StoaDatabase {
    /// Whether `record` satisfies `condition` (a ``RecordFilter/sql()`` fragment for `schema`),
    /// decided by SQLite exactly as a list query over the record's materialized row would decide
    /// it: the condition runs over a one-row subquery whose columns are the record's values cast
    /// to the table's column types (`TEXT`, `INTEGER`), so they carry the same affinities and
    /// compare, convert and `LIKE` as the table's columns do.
    ///
    /// The record need not be in the table: realtime subscriptions (PocketBase's `filter` option)
    /// test the record an event carries, a deleted one included (PocketBase tests a deleted
    /// record as it was just before the delete).
    ///
    /// - Throws: a database error when the condition cannot run (never for a fragment built by
    ///   ``RecordFilter`` from `schema.filterFields`).
    public func matches(_ record: StoredRecord, schema: CollectionSchema, condition: (sql: String, arguments: [SQLValue])) throws -> Bool {
        var columns: [String] = []
        var arguments: [DatabaseValue] = []
        for column in schema.columns {
            let (value, type) = try columnValue(record, column: column, schema: schema)
            columns.append("CAST(? AS \(type)) AS \"\(column)\"")
            arguments.append(value)
        }
        arguments.append(contentsOf: condition.arguments.map(\.databaseValue))
        let sql = "SELECT EXISTS (SELECT 1 FROM (SELECT \(columns.joined(separator: ", "))) AS \(schema.name) WHERE \(condition.sql))"
        return try readHere { db in
            try Bool.fetchOne(db, sql: sql, arguments: StatementArguments(arguments)) ?? false
        }
    }

    /// The value `column` of the materialized row of `record` holds, and the column's type.
    private func columnValue(_ record: StoredRecord, column: String, schema: CollectionSchema) throws -> (DatabaseValue, String) {
        switch column {
        case "id": return (record.id.databaseValue, "TEXT")
        case "created": return (record.created.databaseValue, "TEXT")
        case "updated": return (record.updated.databaseValue, "TEXT")
        default: break
        }
        switch schema.fields.first(where: { $0.name == column })?.kind {
        case .bool?:
            return ((record.values[column] == .bool(true) ? 1 : 0).databaseValue, "INTEGER")
        case .tags?:
            let json = record.tags.isEmpty ? "[]" : String(decoding: try encoder.encode(record.tags), as: UTF8.self)
            return (json.databaseValue, "TEXT")
        case .text?, nil:
            return (Self.columnText(record.values[column]).databaseValue, "TEXT")
        }
    }
}
