// Fuzz target: the `filter` and `sort` parameters of record lists, and the whole list query.
//
// Input: one selector byte, then text: a `filter` (selector % 4 == 0 quotes, 1 users), a `sort`
// (2), or a whole query string as a client sends it (3: `FormQuery` and `ListParameters`, as
// `GET /api/collections/quotes/records?...` reads it). What parses is translated to SQL and run
// against the fixture store through `StoaDatabase.list`, which must succeed (an accepted filter
// must never become a 500) and keep to the owner's records and the page size.
import FuzzSupport
@testable import StoaNode

FuzzDriver.run { bytes in
    var input = FuzzInput(bytes)
    let selector = input.byte()
    let text = input.restText
    switch selector % 4 {
    case 0: FilterSortTarget.checkFilter(text, schema: .quotes)
    case 1: FilterSortTarget.checkFilter(text, schema: .users)
    case 2: FilterSortTarget.checkSort(text)
    default: FilterSortTarget.checkQuery(text)
    }
}
