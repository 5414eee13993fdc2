/// A message on the simulated wire: the encoded bytes, decoded only on delivery so the wire
/// codec is exercised by every run.
struct InFlightMessage {
    var from: Int
    var to: Int
    var channel: MessageChannel
    var bytes: [UInt8]
    /// The message's number in the run (a duplicate keeps the original's number).
    var number: UInt64
}
