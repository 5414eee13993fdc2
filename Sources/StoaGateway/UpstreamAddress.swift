/// Where a node's HTTP API listens, from its announced URL (`http://127.0.0.1:8091`,
/// `http://[::1]:8091`, `http://localhost`): the gateway speaks plain HTTP/1.1 to the nodes.
struct UpstreamAddress: Hashable, Sendable {
    let host: String
    let port: Int
    /// The `Host` header of a request to it.
    let hostHeader: String

    /// Nil for another scheme than `http`, a missing host or a bad port.
    init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        var authority = url.dropFirst("http://".count)
        if let slash = authority.firstIndex(of: "/") { authority = authority[..<slash] }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            if rest.isEmpty { port = 80 } else {
                guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()) else { return nil }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let number = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = number
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        hostHeader = port == 80 ? bracketed : "\(bracketed):\(port)"
    }
}
