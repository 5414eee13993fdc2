import Hummingbird
import StoaStore

/// PocketBase's list query parameters: `page`, `perPage`, `sort`, `filter`, `skipTotal`, `fields`.
/// Unknown parameters are ignored; a filter or sort that cannot be used is a 400, never a
/// silent full list.
struct ListParameters: Sendable {
    static let defaultPerPage = 30
    static let maxPerPage = 1000
    static let maxPage = 1_000_000_000

    var query: ListQuery
    var fields: FieldSelection

    /// Reads the parameters as PocketBase's `search.Provider.Parse` does: an empty value is
    /// absent; `page` and `perPage` must be integers (Go's `strconv.Atoi`) and `skipTotal` a
    /// boolean (Go's `strconv.ParseBool`: `1 t T TRUE true True 0 f F FALSE false False`),
    /// else 400; `page` below 1 is 1, `perPage` below 1 is 30 and above 1000 is 1000; a
    /// `filter` that holds no condition (only whitespace or comments) is a 400, as PocketBase's
    /// parser refuses it.
    ///
    /// - Throws: ``PBError`` 400 naming the parameter.
    init(_ parameters: FormQuery, schema: CollectionSchema, owner: String?) throws(PBError) {
        func integer(_ name: String) throws(PBError) -> Int? {
            guard let raw = parameters.get(name), !raw.isEmpty else { return nil }
            guard let value = Int(raw) else { throw PBError.badRequest("Invalid \(name) parameter: \"\(raw.prefix(40))\" is not an integer.") }
            return value
        }
        // Bounded so that (page - 1) * perPage cannot overflow; pages past the end are empty.
        let page = try integer("page").map { min(max(1, $0), Self.maxPage) } ?? 1
        var perPage = try integer("perPage") ?? Self.defaultPerPage
        if perPage <= 0 { perPage = Self.defaultPerPage }
        perPage = min(perPage, Self.maxPerPage)
        var skipTotal = false
        if let raw = parameters.get("skipTotal"), !raw.isEmpty {
            switch raw {
            case "1", "t", "T", "TRUE", "true", "True": skipTotal = true
            case "0", "f", "F", "FALSE", "false", "False": skipTotal = false
            default: throw PBError.badRequest("Invalid skipTotal parameter: \"\(raw.prefix(40))\" is not a boolean.")
            }
        }
        var condition: (sql: String, arguments: [SQLValue])?
        if let text = parameters.get("filter"), !text.isEmpty {
            let filter: RecordFilter
            do {
                filter = try RecordFilter.parse(text, fields: schema.filterFields)
            } catch {
                throw PBError.badRequest("Invalid filter parameter: \(error.message).")
            }
            guard !filter.isEmpty else { throw PBError.badRequest("Invalid filter parameter: the filter holds no condition (only whitespace or comments).") }
            condition = filter.sql()
        }
        var order: String?
        if let text = parameters.get("sort") {
            do {
                let sort = try RecordSort.parse(text, fields: schema.filterFields)
                if !sort.isEmpty { order = sort.sql() }
            } catch {
                throw PBError.badRequest("Invalid sort parameter: \(error.message).")
            }
        }
        query = ListQuery(condition: condition, order: order, owner: owner, page: page, perPage: perPage, skipTotal: skipTotal)
        fields = try FieldSelection.parse(parameters.get("fields"))
    }

    /// The envelope of an empty result (what a guest sees).
    var emptyPage: ListPage {
        ListPage(items: [], page: query.page, perPage: query.perPage,
                 totalItems: query.skipTotal ? -1 : 0, totalPages: query.skipTotal ? -1 : 0)
    }
}
