import NIOHTTP1

/// The methods the gateway tells apart, matched by case. `==` on NIO's `HTTPMethod` compares
/// the two `rawValue`s, building a string for each side on every call, and a request was
/// compared a dozen times on its way through (seen in the gateway's profile).
extension HTTPMethod {
    var isGET: Bool { if case .GET = self { true } else { false } }
    var isHEAD: Bool { if case .HEAD = self { true } else { false } }
    var isPOST: Bool { if case .POST = self { true } else { false } }

    /// POST, PUT, PATCH or DELETE: a method that changes data.
    var isWrite: Bool {
        switch self {
        case .POST, .PUT, .PATCH, .DELETE: true
        default: false
        }
    }
}
