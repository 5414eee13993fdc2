/// Why bytes could not be decoded (a gossip `WireMessage`, or a ``RecordState`` by ``RecordStateCodec``).
public struct WireCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A short human-readable reason, e.g. `"truncated"`.
    public let reason: String

    public init(reason: String) { self.reason = reason }

    public var description: String { "WireCodecError: \(reason)" }
}
