/// An address block, e.g. `10.0.0.0/8` or `2001:db8::/32`; a bare address is a block of one.
/// Used for the gateway's trusted proxies.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The network address (host bits cleared).
    public let network: ClientAddress.IP
    public let prefixLength: Int

    /// Parses `address/prefix` or a bare address (a /32 or /128). Host bits are cleared
    /// (`10.1.2.3/8` is `10.0.0.0/8`); an IPv4-mapped IPv6 block of /96 or longer is the
    /// matching IPv4 block.
    /// - Throws: `CIDRError` when the address or the prefix length is not valid.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = parts[0].trimmingSpaces
        guard let address = ClientAddress.IP(addressText) else {
            throw CIDRError("\"\(text)\" is not an IP address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)")
        }
        let written: Int
        if parts.count == 2 {
            let prefixText = parts[1].trimmingSpaces
            guard !prefixText.isEmpty, prefixText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), prefixText.count <= 3,
                let value = Int(prefixText)
            else {
                throw CIDRError("\"\(text)\": prefix length \"\(parts[1])\" is not a number")
            }
            written = value
        } else {
            written = -1
        }
        switch address {
        case .v4(let value):
            // Written as IPv4, or as IPv4-mapped IPv6 (then the prefix counts 128 bits).
            let mapped = addressText.contains(":")
            let maximum = mapped ? 128 : 32
            let length = written < 0 ? maximum : written
            guard length <= maximum else {
                throw CIDRError("\"\(text)\": prefix length \(length) is longer than \(maximum)")
            }
            guard !mapped || length >= 96 else {
                throw CIDRError("\"\(text)\": an IPv4-mapped block needs a prefix length of at least 96")
            }
            prefixLength = mapped ? length - 96 : length
            network = .v4(prefixLength == 0 ? 0 : value & ~UInt32(0) << (32 - prefixLength))
        case .v6(let value):
            let length = written < 0 ? 128 : written
            guard length <= 128 else {
                throw CIDRError("\"\(text)\": prefix length \(length) is longer than 128")
            }
            prefixLength = length
            network = .v6(length == 0 ? 0 : value & ~UInt128(0) << (128 - length))
        }
    }

    /// Whether `address` (any form `ClientAddress.IP(entry:)` reads) is inside the block;
    /// false when it is not an address.
    public func contains(_ address: String) -> Bool {
        guard let ip = ClientAddress.IP(entry: address) else { return false }
        return contains(ip)
    }

    public func contains(_ ip: ClientAddress.IP) -> Bool {
        switch (network, ip) {
        case (.v4(let network), .v4(let value)):
            return prefixLength == 0 || value >> (32 - prefixLength) == network >> (32 - prefixLength)
        case (.v6(let network), .v6(let value)):
            return prefixLength == 0 || value >> (128 - prefixLength) == network >> (128 - prefixLength)
        default:
            return false
        }
    }

    public var description: String { "\(network)/\(prefixLength)" }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
