/// The version of one write: the HLC reading it was made at and the node that made it.
///
/// Stamps are totally ordered: by HLC first, then by node id. Two different writes never share a
/// stamp, because a node never issues the same HLC reading twice.
public struct Stamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var hlc: HLCTimestamp
    public var node: String

    public static let zero = Stamp(hlc: .zero, node: "")

    public init(hlc: HLCTimestamp, node: String) {
        self.hlc = hlc
        self.node = node
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        if lhs.hlc != rhs.hlc { return lhs.hlc < rhs.hlc }
        return lhs.node < rhs.node
    }

    public var description: String { "\(hlc)@\(node)" }

    private enum CodingKeys: String, CodingKey { case hlc = "t", node = "n" }
}
