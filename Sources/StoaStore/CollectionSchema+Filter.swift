extension CollectionSchema {
    /// The fields a client may name in `filter` and `sort`: system fields and every visible
    /// field (hidden ones such as password hashes can never be probed through a filter).
    static func filterFieldSet(_ fields: [Field]) -> FilterFieldSet {
        var list: [FilterFieldSet.Field] = [FilterFieldSet.Field(name: "id", kind: .text)]
        for field in fields where !field.hidden {
            switch field.kind {
            case .text: list.append(.init(name: field.name, kind: .text))
            case .bool: list.append(.init(name: field.name, kind: .bool))
            case .tags: list.append(.init(name: field.name, kind: .json))
            }
        }
        list.append(.init(name: "created", kind: .date))
        list.append(.init(name: "updated", kind: .date))
        return FilterFieldSet(list)
    }
}
