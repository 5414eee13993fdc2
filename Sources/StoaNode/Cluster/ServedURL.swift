/// `url` (`scheme://host:port`) with its port replaced by `port`: the URL a server told to listen
/// on port 0 announces to the cluster once the OS has chosen its port. Nil when `url` has no port.
public func servedURL(_ url: String, port: Int) -> String? {
    guard let colon = url.lastIndex(of: ":"), url[url.index(after: colon)...].allSatisfy(\.isNumber) else { return nil }
    return url[..<colon] + ":\(port)"
}
