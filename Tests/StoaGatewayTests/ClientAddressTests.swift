import Testing
@testable import StoaGateway

private let proxies = [try! CIDR(parsing: "10.0.0.0/8"), try! CIDR(parsing: "2001:db8:ffff::/48")]

@Suite("Client address")
struct ClientAddressTests {
    @Test(
        "addresses parse to their RFC 5952 form; IPv4-mapped IPv6 reads as IPv4",
        arguments: [
            ("192.0.2.1", "192.0.2.1"),
            ("0.0.0.0", "0.0.0.0"),
            ("255.255.255.255", "255.255.255.255"),
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:0db8:0000:0001:0000:0000:0000:0000", "2001:db8:0:1::"),
            ("fe80::1%eth0", "fe80::1"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("::FFFF:c000:0201", "192.0.2.1"),
            ("64:ff9b::192.0.2.1", "64:ff9b::c000:201"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ]
    )
    func parses(text: String, expected: String) {
        #expect(ClientAddress.IP(text)?.description == expected)
    }

    @Test(
        "malformed addresses are refused",
        arguments: [
            "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d", ":", ":::", "1:::2", "1::2::3",
            "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:", ":1:2:3:4:5:6:7", "12345::", "g::1", "+1::",
            "::1.2.3", "::1.2.3.4:5", "fe80::1%", "unknown", "_hidden",
        ]
    )
    func refuses(text: String) {
        #expect(ClientAddress.IP(text) == nil)
    }

    @Test(
        "forwarded entries may carry a port or brackets",
        arguments: [
            (" 192.0.2.1 ", "192.0.2.1"), ("192.0.2.1:8080", "192.0.2.1"), ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"), ("[::ffff:192.0.2.1]:1", "192.0.2.1"),
        ]
    )
    func entries(text: String, expected: String) {
        #expect(ClientAddress.IP(entry: text)?.description == expected)
    }

    @Test("entries with a bad port or bracket are refused", arguments: ["192.0.2.1:", "192.0.2.1:99999", "[192.0.2.1]", "[2001:db8::1", "[::1]x", "2001:db8::1:443x"])
    func badEntries(text: String) {
        #expect(ClientAddress.IP(entry: text) == nil)
    }

    @Test("IPv6 clients are keyed by their /64, IPv4 clients by their address")
    func keys() {
        #expect(ClientAddress.key(peer: "2001:db8:1:2:aaaa:bbbb:cccc:dddd", forwardedFor: nil, trustedProxies: []) == "2001:db8:1:2::/64")
        #expect(ClientAddress.key(peer: "2001:db8:1:2::7", forwardedFor: nil, trustedProxies: []) == "2001:db8:1:2::/64")
        #expect(ClientAddress.key(peer: "2001:db8:0:0:1::", forwardedFor: nil, trustedProxies: []) == "2001:db8::/64")
        #expect(ClientAddress.key(peer: "2001:0:0:1::5", forwardedFor: nil, trustedProxies: []) == "2001:0:0:1::/64")
        #expect(ClientAddress.key(peer: "::1", forwardedFor: nil, trustedProxies: []) == "::/64")
        #expect(ClientAddress.key(peer: "::ffff:198.51.100.4", forwardedFor: nil, trustedProxies: []) == "198.51.100.4")
        #expect(ClientAddress.key(peer: "198.51.100.4", forwardedFor: nil, trustedProxies: []) == "198.51.100.4")
        #expect(ClientAddress.key(peer: "not-an-address", forwardedFor: "1.2.3.4", trustedProxies: proxies) == "not-an-address")
    }

    @Test("X-Forwarded-For from an untrusted peer is ignored (spoofing)")
    func spoofedFromUntrustedPeer() {
        #expect(ClientAddress.key(peer: "203.0.113.9", forwardedFor: "1.1.1.1", trustedProxies: proxies) == "203.0.113.9")
        #expect(ClientAddress.key(peer: "203.0.113.9", forwardedFor: "10.0.0.1, 1.1.1.1", trustedProxies: proxies) == "203.0.113.9")
        #expect(ClientAddress.key(peer: "203.0.113.9", forwardedFor: "1.1.1.1", trustedProxies: []) == "203.0.113.9")
        // An address inside the IPv6 proxy block's /64 but outside the /48 is not trusted.
        #expect(ClientAddress.key(peer: "2001:db8:fffe::1", forwardedFor: "1.1.1.1", trustedProxies: proxies) == "2001:db8:fffe::/64")
    }

    @Test("from a trusted proxy the right-most untrusted entry counts; a client cannot prepend its way out")
    func trustedProxyChain() {
        #expect(ClientAddress.key(peer: "10.1.2.3", forwardedFor: "198.51.100.4", trustedProxies: proxies) == "198.51.100.4")
        // The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended what it saw.
        #expect(ClientAddress.key(peer: "10.1.2.3", forwardedFor: "1.1.1.1, 198.51.100.4", trustedProxies: proxies) == "198.51.100.4")
        // Two trusted hops are skipped.
        #expect(ClientAddress.key(peer: "10.1.2.3", forwardedFor: "1.1.1.1,198.51.100.4, 10.9.9.9,2001:db8:ffff::2", trustedProxies: proxies) == "198.51.100.4")
        // Every entry trusted: the left-most one.
        #expect(ClientAddress.key(peer: "10.1.2.3", forwardedFor: "10.0.0.7, 10.0.0.8", trustedProxies: proxies) == "10.0.0.7")
        // Garbage stops the walk at the last good hop.
        #expect(ClientAddress.key(peer: "10.1.2.3", forwardedFor: "198.51.100.4, garbage, 10.0.0.8", trustedProxies: proxies) == "10.0.0.8")
        #expect(ClientAddress.key(peer: "10.1.2.3", forwardedFor: "unknown", trustedProxies: proxies) == "10.1.2.3")
        #expect(ClientAddress.key(peer: "10.1.2.3", forwardedFor: "", trustedProxies: proxies) == "10.1.2.3")
        #expect(ClientAddress.key(peer: "10.1.2.3", forwardedFor: nil, trustedProxies: proxies) == "10.1.2.3")
        // IPv6 clients behind a trusted proxy, with ports and brackets, keyed by /64.
        #expect(ClientAddress.key(peer: "2001:db8:ffff::1", forwardedFor: "[2001:db8:5:6::99]:5555", trustedProxies: proxies) == "2001:db8:5:6::/64")
        #expect(ClientAddress.key(peer: "::ffff:10.0.0.1", forwardedFor: "198.51.100.4:80", trustedProxies: proxies) == "198.51.100.4")
    }

    @Test("CIDR blocks parse, clear host bits and match addresses of their family")
    func cidr() throws {
        let block = try CIDR(parsing: "10.1.2.3/8")
        #expect(block.description == "10.0.0.0/8")
        #expect(block.contains("10.255.255.255") && block.contains("10.0.0.0") && !block.contains("11.0.0.0"))
        #expect(block.contains("::ffff:10.1.1.1"))
        #expect(!block.contains("::a01:101"))  // IPv4-compatible (not mapped) IPv6 is IPv6
        #expect(!block.contains("garbage"))
        let single = try CIDR(parsing: "192.0.2.7")
        #expect(single.description == "192.0.2.7/32" && single.contains("192.0.2.7") && !single.contains("192.0.2.8"))
        let v6 = try CIDR(parsing: "2001:db8::/32")
        #expect(v6.contains("2001:db8:ffff::1") && !v6.contains("2001:db9::1") && !v6.contains("10.0.0.1"))
        #expect(try CIDR(parsing: "::1").description == "::1/128")
        #expect(try CIDR(parsing: "0.0.0.0/0").contains("203.0.113.1"))
        #expect(try CIDR(parsing: "::/0").contains("2001:db8::1"))
        #expect(try CIDR(parsing: "::ffff:10.0.0.0/104") == CIDR(parsing: "10.0.0.0/8"))
        #expect(try CIDR(parsing: "2001:db8::1/64").description == "2001:db8::/64")
    }

    @Test("bad CIDR text is refused", arguments: ["", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/-1", "10/8", "::ffff:10.0.0.0/95", "10.0.0.0/8/8"])
    func badCIDR(text: String) {
        #expect(throws: CIDRError.self) { try CIDR(parsing: text) }
    }
}
