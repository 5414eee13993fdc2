/// A hash table whose entries are kept in least-recently-used order: a `Dictionary` from key to
/// slot plus an intrusive doubly linked list over parallel arrays, so lookup, touch, insert and
/// removal are O(1) and freed slots are reused (no allocation per operation once warm).
///
/// Slots are stable `Int` handles valid until the entry is removed. The table enforces no bound
/// itself: its owners (`RateLimiter`, `ResponseCache`) evict `leastRecent` to stay within theirs.
struct LRUTable<Key: Hashable, Value> {
    private var index: [Key: Int] = [:]
    private var keys: [Key?] = []
    private var values: [Value?] = []
    private var previous: [Int] = []  // towards more recent; -1 at the head
    private var next: [Int] = []  // towards less recent; -1 at the tail
    private var free: [Int] = []
    /// Most recently used slot, or -1 when empty.
    private(set) var head = -1
    /// Least recently used slot, or -1 when empty.
    private(set) var tail = -1

    init(minimumCapacity: Int = 0) {
        index.reserveCapacity(minimumCapacity)
    }

    var count: Int { index.count }
    var isEmpty: Bool { index.isEmpty }

    /// The slot of `key`, without changing the order.
    func slot(of key: Key) -> Int? { index[key] }

    /// The least recently used slot, if any.
    var leastRecent: Int? { tail >= 0 ? tail : nil }

    /// The slot next to `slot` towards the most recently used end (walks from `leastRecent`).
    func moreRecent(than slot: Int) -> Int? {
        let following = previous[slot]
        return following >= 0 ? following : nil
    }

    func key(at slot: Int) -> Key { keys[slot]! }

    subscript(slot: Int) -> Value {
        get { values[slot]! }
        _modify { yield &values[slot]! }
    }

    /// Makes `slot` the most recently used entry.
    mutating func touch(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        linkAtHead(slot)
    }

    /// Inserts a new entry as the most recently used; `key` MUST NOT be present.
    @discardableResult
    mutating func insert(_ key: Key, _ value: Value) -> Int {
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            keys[slot] = key
            values[slot] = value
        } else {
            slot = keys.count
            keys.append(key)
            values.append(value)
            previous.append(-1)
            next.append(-1)
        }
        index[key] = slot
        linkAtHead(slot)
        return slot
    }

    /// Removes the entry in `slot` and returns its key and value.
    @discardableResult
    mutating func remove(_ slot: Int) -> (key: Key, value: Value) {
        unlink(slot)
        let key = keys[slot]!
        let value = values[slot]!
        keys[slot] = nil
        values[slot] = nil
        index[key] = nil
        free.append(slot)
        return (key, value)
    }

    private mutating func unlink(_ slot: Int) {
        let before = previous[slot]
        let after = next[slot]
        if before >= 0 { next[before] = after } else { head = after }
        if after >= 0 { previous[after] = before } else { tail = before }
        previous[slot] = -1
        next[slot] = -1
    }

    private mutating func linkAtHead(_ slot: Int) {
        previous[slot] = -1
        next[slot] = head
        if head >= 0 { previous[head] = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}

extension LRUTable: Sendable where Key: Sendable, Value: Sendable {}
