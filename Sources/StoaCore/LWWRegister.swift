/// A last-writer-wins register: the value with the greatest ``Stamp`` wins.
///
/// Merge is commutative, associative and idempotent because it is `max` over a total order.
public struct LWWRegister<Value: Hashable & Sendable & Codable>: Hashable, Sendable, Codable {
    public var value: Value
    public var stamp: Stamp

    public init(value: Value, stamp: Stamp) {
        self.value = value
        self.stamp = stamp
    }

    /// Keeps whichever of `self` and `other` has the greater stamp.
    public mutating func merge(_ other: Self) {
        if other.stamp > stamp { self = other }
    }

    public func merged(_ other: Self) -> Self {
        var copy = self
        copy.merge(other)
        return copy
    }

    private enum CodingKeys: String, CodingKey { case value = "v", stamp = "s" }
}
