import FuzzFixtures
import FuzzSupport
import StoaCore
@testable import StoaNode
@testable import StoaStore

/// The checks of the filter and sort target (see main.swift).
enum FilterSortTarget {
    static let store = FuzzStore.store

    static func checkFilter(_ text: String, schema: CollectionSchema) {
        guard let filter = try? RecordFilter.parse(text, fields: schema.filterFields) else { return }
        let condition = filter.sql()
        fuzzCheck(condition.sql.filter { $0 == "?" }.count == condition.arguments.count, "a filter binds another number of values than it has placeholders")
        run(ListQuery(condition: filter.isEmpty ? nil : condition, owner: schema.name == "quotes" ? FuzzStore.owner : nil, perPage: 5), schema: schema, what: "filter \(text)")
    }

    static func checkSort(_ text: String) {
        guard let sort = try? RecordSort.parse(text, fields: CollectionSchema.quotes.filterFields) else { return }
        fuzzCheck(sort.keys.count <= text.utf8.count / 2 + 1, "a sort has more keys than its text allows")
        run(ListQuery(order: sort.isEmpty ? nil : sort.sql(), owner: FuzzStore.owner, perPage: 5), schema: .quotes, what: "sort \(text)")
    }

    static func checkQuery(_ text: String) {
        guard let parameters = try? ListParameters(FormQuery(text), schema: .quotes, owner: FuzzStore.owner) else { return }
        let query = parameters.query
        fuzzCheck(query.page >= 1 && query.page <= ListParameters.maxPage, "page out of range")
        fuzzCheck(query.perPage >= 1 && query.perPage <= ListParameters.maxPerPage, "perPage out of range")
        run(query, schema: .quotes, what: "query \(text)")
    }

    /// Runs `query` on the fixture store; a failure is a bug (the node would answer 500).
    static func run(_ query: ListQuery, schema: CollectionSchema, what: String) {
        let result = blocking { try await store.list(schema, query: query) }
        guard case .success(let page) = result else {
            fatalError("an accepted \(what) fails in SQLite: \(result)")
        }
        fuzzCheck(page.items.count <= query.perPage, "a page holds more than perPage")
        if let owner = query.owner {
            fuzzCheck(page.items.allSatisfy { $0.text(schema.ownerField) == owner }, "a page holds another user's record")
        }
        if !query.skipTotal {
            fuzzCheck(page.totalItems >= page.items.count && page.totalPages >= 0, "totals are inconsistent")
        }
    }
}
