// Fuzz target: what the gateway derives from a client's request.
//
// Input: one selector byte, then the bytes a client sends on a connection: HTTP/1.1 requests
// (pipelined, any headers and bodies). NIO's HTTP server codec parses them as the gateway's server
// does; each complete request is answered by a real `GatewayResponder` (rate limiter with trusted
// proxies, token verification, response cache, no node to forward to) from the TCP peer the
// selector picks, and the pure parts it relies on are checked on their own: `RequestRoute`,
// `ResponseCachePathTarget` (a write must invalidate what a read cached), `CacheKey`,
// `ClientAddress` (X-Forwarded-For walk, address text round trips). Selector bit 3 instead
// reads the payload as a trusted-proxy CIDR block (`CIDR(parsing:)`).
import FuzzSupport

FuzzDriver.run(seeds: GatewaySeeds.all) { bytes in
    var input = FuzzInput(bytes)
    let selector = input.byte()
    if selector & 8 != 0 {
        GatewayTarget.checkCIDR(input.restText)
    } else {
        GatewayTarget.checkConnection(Array(input.rest), peer: GatewayTarget.peers[Int(selector & 7)])
    }
}
