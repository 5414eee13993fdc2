/// Which transport a simulated message stands for. Both suffer the same fault model; the
/// channel only shows in the trace and the statistics.
enum MessageChannel: String, Sendable {
    /// SWIM over UDP.
    case datagram
    /// Replication over the TCP stream (vectors and changes).
    case stream
}
