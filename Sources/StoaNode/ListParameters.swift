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
    var fields: Set<String>?

    init(_ parameters: FormQuery, schema: CollectionSchema, owner: String?) throws(PBError) {
        // Bounded so that (page - 1) * perPage cannot overflow; pages past the end are empty.
        let page = parameters.get("page").flatMap { Int($0) }.map { min(max(1, $0), Self.maxPage) } ?? 1
        var perPage = parameters.get("perPage").flatMap { Int($0) } ?? Self.defaultPerPage
        if perPage <= 0 { perPage = Self.defaultPerPage }
        perPage = min(perPage, Self.maxPerPage)
        let skipTotal = parameters.get("skipTotal").map { ["1", "true", "t", "yes"].contains($0.lowercased()) } ?? false
        var condition: (sql: String, arguments: [SQLValue])?
        if let text = parameters.get("filter") {
            do {
                let filter = try RecordFilter.parse(text, fields: schema.filterFields)
                if !filter.isEmpty { condition = filter.sql() }
            } catch {
                throw PBError.badRequest("Invalid filter parameter: \(error.message).")
            }
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
        fields = RecordView.fieldSelection(parameters.get("fields"))
    }

    /// The envelope of an empty result (what a guest sees).
    var emptyPage: ListPage {
        ListPage(items: [], page: query.page, perPage: query.perPage,
                 totalItems: query.skipTotal ? -1 : 0, totalPages: query.skipTotal ? -1 : 0)
    }
}
