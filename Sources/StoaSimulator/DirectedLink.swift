/// A one-way link between two nodes, by name: the unit a partition cuts.
public struct DirectedLink: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let from: String
    public let to: String

    public init(from: String, to: String) {
        self.from = from
        self.to = to
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.from, lhs.to) < (rhs.from, rhs.to) }

    public var description: String { "\(from)>\(to)" }

    /// Every link from a node of `from` to a node of `to` (never a node to itself).
    static func all(from: [String], to: [String]) -> [DirectedLink] {
        from.flatMap { source in to.filter { $0 != source }.map { DirectedLink(from: source, to: $0) } }
    }

    /// The links a partition into `groups` cuts, both ways; the nodes in no group form one
    /// more group together.
    static func cuts(between groups: [[String]], nodes: [String]) -> [DirectedLink] {
        let listed = Set(groups.flatMap { $0 })
        let rest = nodes.filter { !listed.contains($0) }
        let all = rest.isEmpty ? groups : groups + [rest]
        var groupOf: [String: Int] = [:]
        for (index, group) in all.enumerated() {
            for node in group { groupOf[node] = index }
        }
        var links: [DirectedLink] = []
        for source in nodes {
            for target in nodes where source != target {
                if let a = groupOf[source], let b = groupOf[target], a != b { links.append(DirectedLink(from: source, to: target)) }
            }
        }
        return links
    }
}
