import NIOCore
import NIOHTTP1

/// What a gateway connection read while one of its answers was still being written (HTTP/1.1
/// pipelining: answers go out one at a time, in the order of the requests) or while its client
/// did not read its answers, kept in order until it may go on, and whether the channel asked to
/// read meanwhile (it reads nothing more until then, so what is kept is bounded by what the
/// reads already under way brought).
struct HeldRequestParts {
    enum Event {
        /// A part of a request that came after the one being answered.
        case part(HTTPServerRequestPart)
        /// NIO's decoder could not parse what came next.
        case malformed
    }

    private var events = CircularBuffer<Event>(initialCapacity: 0)
    /// The channel asked to read while an answer was being written.
    var readPending = false

    var isEmpty: Bool { events.isEmpty }

    mutating func append(_ event: Event) { events.append(event) }

    mutating func next() -> Event? { events.popFirst() }

    /// Drops what is kept (the connection will answer nothing more).
    mutating func removeAll() { events.removeAll() }
}
