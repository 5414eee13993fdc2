// Micro-benchmark of the gateway's pure core (rate limiter, client address, response cache).
// `bash benchmarks/gateway-core/run.sh` builds it in release (the `stoa-gateway-core-bench`
// product) and prints nanoseconds per operation.
import Dispatch
import StoaGateway

func measure(_ label: String, _ operations: Int, _ body: () -> Int) {
    let start = DispatchTime.now().uptimeNanoseconds
    let sink = body()
    let elapsed = DispatchTime.now().uptimeNanoseconds - start
    let perOperation = Double(elapsed) / Double(operations)
    print("\(label): \(operations) in \(elapsed / 1_000_000) ms, \(Int(perOperation)) ns/op (check \(sink))")
}

let policies = try! [
    RateLimitPolicy(parsing: "ip-reads:ip:reads:100:200"),
    RateLimitPolicy(parsing: "ip-writes:ip:writes:10:20"),
    RateLimitPolicy(parsing: "user-reads:user:reads:50:100"),
    RateLimitPolicy(parsing: "user-writes:user:writes:5:10"),
    RateLimitPolicy(parsing: "global-writes:global:writes:1000:2000"),
]
let clients = (0..<10_000).map { "10.0.\($0 / 256).\($0 % 256)" }
let users = (0..<10_000).map { "user\($0)" }

var limiter = RateLimiter(policies: policies, maxKeys: 100_000)
measure("RateLimiter.decide, 5 policies, 10k clients, 2/3 with a user, 10% writes", 2_000_000) {
    var admitted = 0
    for i in 0..<2_000_000 {
        let request = RateLimitRequest(
            user: i % 3 == 0 ? nil : users[i % 10_000], clientKey: clients[(i &* 7919) % 10_000], isWrite: i % 10 == 0
        )
        if limiter.decide(request, now: UInt64(i) * 5_000).admitted { admitted += 1 }
    }
    return admitted
}

var flooded = RateLimiter(policies: policies, maxKeys: 100_000)
let distinct = (0..<1_000_000).map { String($0) }
measure("RateLimiter.decide, 1M distinct clients, table full at 100k (evicting)", distinct.count) {
    var admitted = 0
    for i in 0..<distinct.count {
        let request = RateLimitRequest(user: nil, clientKey: distinct[i], isWrite: false)
        if flooded.decide(request, now: UInt64(i) * 10).admitted { admitted += 1 }
    }
    return admitted
}
print("  key table after the flood: \(flooded.statistics.keys) keys, \(flooded.statistics.evictedKeys) evicted")

let proxies = [try! CIDR(parsing: "10.0.0.0/8"), try! CIDR(parsing: "2001:db8:ffff::/48")]
let forwarded = (0..<256).map { "198.51.100.\($0), 10.0.0.9" }
measure("ClientAddress.key, trusted peer, two X-Forwarded-For hops", 1_000_000) {
    var total = 0
    for i in 0..<1_000_000 {
        total &+= ClientAddress.key(peer: "10.1.2.3", forwardedFor: forwarded[i % 256], trustedProxies: proxies).utf8.count
    }
    return total
}
measure("ClientAddress.key, IPv6 peer, no proxy", 1_000_000) {
    var total = 0
    for _ in 0..<1_000_000 {
        total &+= ClientAddress.key(peer: "2001:db8:1:2:3:4:5:6", forwardedFor: nil, trustedProxies: proxies).utf8.count
    }
    return total
}

var cache = ResponseCache(byteBudget: 64 << 20, ttlNanos: 5_000_000_000, staleForNanos: 60_000_000_000)
let body = [UInt8](repeating: 120, count: 2_000)
let keys = (0..<20_000).map {
    CacheKey(user: "user\($0 % 1000)", path: "/api/collections/quotes/records", query: "page=\($0 / 1000)")
}
measure("ResponseCache.lookup (+ store on miss), 20k keys, 2 KB bodies", 1_000_000) {
    var hits = 0
    for i in 0..<1_000_000 {
        let key = keys[(i &* 7919) % keys.count]
        let now = UInt64(i) * 1_000
        if case .fresh = cache.lookup(key, now: now) {
            hits += 1
        } else {
            cache.store(key, CachedResponse(status: 200, headers: [("content-type", "application/json")], body: body), now: now)
        }
        if i % 100 == 0 { cache.invalidate(user: key.user, collection: "quotes", recordID: nil) }
    }
    return hits
}
print("  cache: \(cache.statistics)")
