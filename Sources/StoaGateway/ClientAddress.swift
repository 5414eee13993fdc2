/// Which client a request comes from, for rate limiting by address.
public enum ClientAddress {
    /// The key a request is limited under: the peer address, or — only when the peer is inside one
    /// of `trustedProxies` — the right-most `X-Forwarded-For` entry that is not itself trusted
    /// (walking right to left over trusted hops; when every entry is trusted, the left-most one).
    /// An entry that is not an address stops the walk at the last good one, so a client behind a
    /// trusted proxy cannot choose its key by sending garbage, and a client connecting directly
    /// cannot choose it at all (its `X-Forwarded-For` is ignored).
    ///
    /// IPv6 is grouped by /64 (key `2001:db8:1:2::/64`), IPv4 is kept as is (`192.0.2.1`), and
    /// IPv4-mapped IPv6 is read as IPv4. A peer text that is not an address is returned unchanged.
    /// - Parameter forwardedFor: every `X-Forwarded-For` field line of the request joined by ","
    ///   in order (nil or empty when there is none).
    public static func key(peer: String, forwardedFor: String?, trustedProxies: [CIDR]) -> String {
        guard let address = IP(entry: peer) else { return peer }
        return client(peer: address, forwardedFor: forwardedFor, trustedProxies: trustedProxies).limiterKey
    }

    /// The client address `key` counts under (see `key`).
    public static func client(peer: IP, forwardedFor: String?, trustedProxies: [CIDR]) -> IP {
        guard let forwardedFor, !forwardedFor.isEmpty, trustedProxies.contains(where: { $0.contains(peer) }) else {
            return peer
        }
        var client = peer
        let bytes = Array(forwardedFor.utf8)
        var end = bytes.endIndex
        while true {  // entries right to left; blank ones are skipped
            var start = end
            while start > 0, bytes[start - 1] != UInt8(ascii: ",") { start -= 1 }
            let entry = bytes[start..<end]
            if !entry.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                guard let hop = IP.parseEntry(entry) else { break }
                client = hop
                if !trustedProxies.contains(where: { $0.contains(hop) }) { break }
            }
            if start == 0 { break }
            end = start - 1
        }
        return client
    }
}
