import StoaStore

/// One subscription of a realtime client, parsed from PocketBase's subscription string:
/// `quotes` or `quotes/*` (every record of the collection the client may see), `quotes/{id}`
/// (one record), each optionally followed by `?options=...`. Events are named by the full
/// string, as PocketBase names them.
///
/// `options` is read as PocketBase's `subscriptions.DefaultClient.Subscribe` reads it: the
/// URL-decoded value of the `options` query parameter, a JSON object whose `query` object gives
/// the request parameters each event is checked and shaped with (values of any JSON type are
/// taken as text). Of those, `filter` (only events whose record matches it are sent; a filter
/// that does not parse matches nothing), `fields` (the record is narrowed as the list API
/// narrows it) and `expand` (the record's relations, as the list API expands them for the
/// subscriber) are applied; `headers` and other parameters are kept but change nothing, and
/// options that are not valid JSON are no options, as in PocketBase.
struct RealtimeSubscription: Sendable, Equatable {
    /// Longest subscription string accepted (PocketBase's limit).
    static let maxLength = 2500
    /// Most subscriptions one client may hold.
    static let maxCount = 1000

    /// The string the client sent; the event name of matching messages.
    let name: String
    /// The collection name or id the subscription is about.
    let collection: String
    /// The one record watched, or nil for the whole collection.
    let recordID: String?
    /// The `query` of the subscription's options (empty without options).
    let query: [String: String]
    /// The parsed `filter` option: nil without one; `.failure` when it does not parse for the
    /// collection (the subscription then receives nothing, as in PocketBase).
    let filter: Result<RecordFilter, FilterError>?

    init(_ name: String) {
        self.name = name
        let split = name.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let topic = split.first.map(String.init) ?? ""
        let parts = topic.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        collection = parts[0]
        recordID = parts.count > 1 && parts[1] != "*" ? parts[1] : nil
        query = split.count > 1 ? Self.optionsQuery(FormQuery(String(split[1])).get("options")) : [:]
        filter = Self.parseFilter(query["filter"], collection: collection)
    }

    /// The `filter` option parsed for the collection named `collection` (by name or id); nil
    /// when there is none.
    static func parseFilter(_ text: String?, collection: String) -> Result<RecordFilter, FilterError>? {
        guard let text, !text.isEmpty else { return nil }
        guard let schema = CollectionSchema.all.first(where: { $0.name == collection || $0.id == collection }) else {
            return .failure(FilterError(message: "unknown collection"))
        }
        do throws(FilterError) {
            let parsed = try RecordFilter.parse(text, fields: schema.filterFields)
            return parsed.isEmpty ? .failure(FilterError(message: "the filter holds no condition")) : .success(parsed)
        } catch {
            return .failure(error)
        }
    }

    /// Whether events for this subscription are checked or shaped per subscription (a
    /// `filter`, `fields` or `expand` option), rather than sent as the collection's plain event.
    var isShaped: Bool {
        filter != nil || !(query["fields"] ?? "").isEmpty || !(query["expand"] ?? "").isEmpty
    }

    /// The `fields` option; one that does not parse narrows nothing (PocketBase then sends the
    /// whole record).
    var fields: FieldSelection { (try? FieldSelection.parse(query["fields"])) ?? .all }

    /// True when an event about `record` of `schema` is for this subscription (before its filter).
    func matches(_ record: StoredRecord, schema: CollectionSchema) -> Bool {
        (collection == schema.name || collection == schema.id) && (recordID == nil || recordID == record.id)
    }

    /// The `query` object of an `options` JSON value, each value as text (strings as they are,
    /// numbers and booleans as JSON writes them; null, arrays and objects as JSON text).
    static func optionsQuery(_ options: String?) -> [String: String] {
        guard let options, !options.isEmpty,
              case .object(let object)? = try? JSONParser.parse(Array(options.utf8)),
              case .object(let query)? = object["query"]
        else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in query {
            switch value {
            case .string(let text): result[key] = text
            case .bool(let flag): result[key] = flag ? "true" : "false"
            case .number(let number):
                result[key] = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            case .null: result[key] = ""
            case .array, .object: continue
            }
        }
        return result
    }

    static func == (lhs: RealtimeSubscription, rhs: RealtimeSubscription) -> Bool { lhs.name == rhs.name }
}
