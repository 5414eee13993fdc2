extension ClientAddress {
    /// An IP address. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are read as IPv4, so one
    /// client has one key however its address is written.
    public enum IP: Sendable, Hashable, CustomStringConvertible {
        case v4(UInt32)
        case v6(UInt128)

        /// Parses a bare address: dotted IPv4 (four decimal parts 0-255, no leading zeros) or
        /// IPv6 (RFC 4291 text, `::` compression, a trailing dotted IPv4, a `%zone` suffix ignored).
        public init?(_ text: some StringProtocol) {
            guard let ip = Self.parseAddress(Array(text.utf8)[...]) else { return nil }
            self = ip
        }

        /// Parses one X-Forwarded-For entry or peer text: a bare address, `[v6]`, `[v6]:port` or
        /// `v4:port`, with surrounding spaces or tabs.
        public init?(entry: some StringProtocol) {
            guard let ip = Self.parseEntry(Array(entry.utf8)[...]) else { return nil }
            self = ip
        }

        static func parseAddress(_ bytes: ArraySlice<UInt8>) -> IP? {
            if let v4 = parseV4(bytes) { return .v4(v4) }
            guard let v6 = parseV6(bytes) else { return nil }
            return v6 >> 32 == 0xffff ? .v4(UInt32(truncatingIfNeeded: v6)) : .v6(v6)
        }

        static func parseEntry(_ input: ArraySlice<UInt8>) -> IP? {
            var bytes = input
            while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { bytes.removeFirst() }
            while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes.removeLast() }
            if bytes.first == UInt8(ascii: "[") {
                // `[v6]` or `[v6]:port`; the inside must be IPv6 text (an IPv4-mapped one is fine).
                guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
                let inside = bytes[(bytes.startIndex + 1)..<close]
                let rest = bytes[(close + 1)...]
                guard rest.isEmpty || (rest.first == UInt8(ascii: ":") && isPort(rest.dropFirst())),
                    inside.contains(UInt8(ascii: ":"))
                else { return nil }
                return parseAddress(inside)
            }
            if let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
                !bytes[(colon + 1)...].contains(UInt8(ascii: ":"))
            {
                guard isPort(bytes[(colon + 1)...]), let v4 = parseV4(bytes[..<colon]) else { return nil }
                return .v4(v4)
            }
            return parseAddress(bytes)
        }

        /// The key the rate limiter counts under: IPv4 as is, IPv6 as its /64 (`2001:db8:1:2::/64`),
        /// since one subscriber usually holds a whole /64.
        public var limiterKey: String {
            switch self {
            case .v4: return description
            case .v6(let value):
                // The four network groups in hex without leading zeros, trailing zero groups
                // folded into the "::" (the longest zero run is always the host half).
                var groups = 4
                while groups > 0, UInt16(truncatingIfNeeded: value >> (128 - 16 * groups)) == 0 { groups -= 1 }
                var text: [UInt8] = []
                text.reserveCapacity(24)
                for index in 0..<groups {
                    if index > 0 { text.append(UInt8(ascii: ":")) }
                    let group = UInt16(truncatingIfNeeded: value >> (112 - 16 * index))
                    var shift = 12
                    while shift > 0, group >> shift == 0 { shift -= 4 }
                    while shift >= 0 {
                        text.append(Self.hexDigits[Int(group >> shift & 0xf)])
                        shift -= 4
                    }
                }
                text.append(contentsOf: "::/64".utf8)
                return String(decoding: text, as: UTF8.self)
            }
        }

        private static let hexDigits = Array("0123456789abcdef".utf8)

        /// RFC 5952 text: lowercase hex, no leading zeros, the longest run (first on ties) of two
        /// or more zero groups written `::`.
        public var description: String {
            switch self {
            case .v4(let value):
                return "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
            case .v6(let value):
                let groups: [UInt16] = (0..<8).map { UInt16(truncatingIfNeeded: value >> (112 - 16 * $0)) }
                var bestStart = -1
                var bestLength = 1
                var index = 0
                while index < 8 {
                    guard groups[index] == 0 else {
                        index += 1
                        continue
                    }
                    var end = index
                    while end < 8, groups[end] == 0 { end += 1 }
                    if end - index > bestLength {
                        bestStart = index
                        bestLength = end - index
                    }
                    index = end
                }
                let hex = groups.map { String($0, radix: 16) }
                guard bestStart >= 0 else { return hex.joined(separator: ":") }
                let head = hex[..<bestStart].joined(separator: ":")
                let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
                return head + "::" + tail
            }
        }

        // MARK: - Parsing

        private static func isPort(_ bytes: ArraySlice<UInt8>) -> Bool {
            guard (1...5).contains(bytes.count) else { return false }
            var value = 0
            for byte in bytes {
                guard byte >= 0x30, byte <= 0x39 else { return false }
                value = value * 10 + Int(byte - 0x30)
            }
            return value <= 65_535
        }

        /// 1-4 hex digits (no sign, unlike `UInt16(_:radix:)`).
        private static func parseHexGroup(_ group: ArraySlice<UInt8>) -> UInt16? {
            guard (1...4).contains(group.count) else { return nil }
            var value: UInt16 = 0
            for byte in group {
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x61...0x66: digit = byte - 0x61 + 10
                case 0x41...0x46: digit = byte - 0x41 + 10
                default: return nil
                }
                value = value << 4 | UInt16(digit)
            }
            return value
        }

        private static func parseV4(_ bytes: ArraySlice<UInt8>) -> UInt32? {
            var value: UInt32 = 0
            var parts = 0
            var part: UInt32 = 0
            var digits = 0
            var leadingZero = false
            for byte in bytes {
                if byte == UInt8(ascii: ".") {
                    guard digits > 0, parts < 3 else { return nil }
                    value = value << 8 | part
                    parts += 1
                    part = 0
                    digits = 0
                } else if byte >= 0x30, byte <= 0x39 {
                    if digits == 0 { leadingZero = byte == 0x30 } else if leadingZero { return nil }
                    part = part * 10 + UInt32(byte - 0x30)
                    digits += 1
                    guard part <= 255 else { return nil }
                } else {
                    return nil
                }
            }
            guard digits > 0, parts == 3 else { return nil }
            return value << 8 | part
        }

        private static func parseV6(_ input: ArraySlice<UInt8>) -> UInt128? {
            var bytes = input
            if let percent = bytes.firstIndex(of: UInt8(ascii: "%")) {
                guard percent != bytes.endIndex - 1 else { return nil }
                bytes = bytes[..<percent]
            }
            guard bytes.count >= 2 else { return nil }
            // Split at "::" (at most once) into the groups before and after the gap.
            var before: [UInt16] = []
            var after: [UInt16] = []
            var sawGap = false
            var position = bytes.startIndex
            if bytes[position] == UInt8(ascii: ":") {
                guard bytes[position + 1] == UInt8(ascii: ":") else { return nil }
                sawGap = true
                position += 2
            }
            while position < bytes.endIndex {
                // One group: hex digits up to ':' or the end, or a dotted IPv4 tail.
                var end = position
                while end < bytes.endIndex, bytes[end] != UInt8(ascii: ":") { end += 1 }
                let group = bytes[position..<end]
                if group.contains(UInt8(ascii: ".")) {
                    guard end == bytes.endIndex, let v4 = parseV4(group) else { return nil }
                    let pair = [UInt16(v4 >> 16), UInt16(v4 & 0xffff)]
                    if sawGap { after += pair } else { before += pair }
                    position = end
                    break
                }
                guard let value = parseHexGroup(group) else { return nil }
                if sawGap { after.append(value) } else { before.append(value) }
                position = end
                if position == bytes.endIndex { break }
                position += 1  // the ':'
                if position < bytes.endIndex, bytes[position] == UInt8(ascii: ":") {
                    guard !sawGap else { return nil }
                    sawGap = true
                    position += 1
                } else if position == bytes.endIndex {
                    return nil  // a single trailing ':'
                }
            }
            let total = before.count + after.count
            guard sawGap ? total <= 7 : total == 8 else { return nil }
            let groups = before + Array(repeating: 0, count: 8 - total) + after
            return groups.reduce(UInt128(0)) { $0 << 16 | UInt128($1) }
        }
    }
}
