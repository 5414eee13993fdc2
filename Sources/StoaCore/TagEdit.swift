/// How a write changes a record's tags.
public enum TagEdit: Sendable, Hashable {
    /// The client sent the whole array (`"tags": [...]`): turned into adds and removes against
    /// the replica's current value, so tags another device added that this replica has not seen
    /// yet survive.
    case assign([String])
    /// PocketBase's modifiers `"tags+": ...` and `"tags-": ...`: add and remove only the named
    /// tags, so concurrent additions on different replicas always both survive.
    case modify(add: [String], remove: [String])
}
