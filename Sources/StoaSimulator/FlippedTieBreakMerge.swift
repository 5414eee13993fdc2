import StoaCore

/// A deliberately broken merge, for fault injection only: like ``RecordState/merge(_:)``,
/// except that between two field registers with equal HLCs the *smaller* node id wins (the
/// documented tie-break keeps the greater). Tags, causal length and `touched` merge
/// correctly.
///
/// The simulator applies remote changes through it on one chosen node; the invariants MUST
/// then catch the divergence whenever the workload produces HLC ties.
public enum FlippedTieBreakMerge {
    public static func merge(_ current: RecordState, _ delta: RecordState) -> RecordState {
        var result = current
        for (name, incoming) in delta.fields {
            guard let mine = result.fields[name] else {
                result.fields[name] = incoming
                continue
            }
            let wins = incoming.stamp.hlc != mine.stamp.hlc
                ? incoming.stamp.hlc > mine.stamp.hlc
                : incoming.stamp.node < mine.stamp.node
            if wins { result.fields[name] = incoming }
        }
        // Everything but the field registers merges correctly: reuse the real merge on a copy
        // without fields.
        var rest = delta
        rest.fields = [:]
        let fields = result.fields
        result.fields = [:]
        result.merge(rest)
        result.fields = fields
        return result
    }
}
