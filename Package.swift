// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "stoa",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "stoa", targets: ["stoa"]),
        .executable(name: "stoa-http-floor", targets: ["stoa-http-floor"]),
        .library(name: "StoaCore", targets: ["StoaCore"]),
        .library(name: "StoaGossip", targets: ["StoaGossip"]),
        .library(name: "StoaStore", targets: ["StoaStore"]),
        .library(name: "StoaNode", targets: ["StoaNode"]),
        .library(name: "StoaGateway", targets: ["StoaGateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        /// Pure replication types: no I/O, no clock, no randomness.
        .target(name: "StoaCore"),
        /// SWIM membership and replication as pure state machines, and the wire codec.
        .target(name: "StoaGossip", dependencies: ["StoaCore"]),
        /// The one database wrapper (GRDB over the system libsqlite3).
        .target(
            name: "StoaStore",
            dependencies: [
                "StoaCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        /// The running node: HTTP API, auth, metrics, account mail (SMTP).
        .target(
            name: "StoaNode",
            dependencies: [
                "StoaCore",
                "StoaGossip",
                "StoaStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            resources: [
                // The admin dashboard at /_/, compiled into the binary (no files to ship beside it).
                .embedInCode("Dashboard/index.html"),
                .embedInCode("Dashboard/app.js"),
                .embedInCode("Dashboard/app.css"),
            ]
        ),
        /// The front node: pure rate limiter, response cache and coalescer, and the network shell
        /// around them (membership, balancer, a SwiftNIO HTTP server and node connections,
        /// dashboard, TLS).
        .target(
            name: "StoaGateway",
            dependencies: [
                "StoaGossip",
                "StoaNode",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        /// The deterministic simulator: the real gossip machines and store under simulated
        /// clocks and network, scenario files, invariant checks, replay by seed. Never imports NIO.
        .target(name: "StoaSimulator", dependencies: ["StoaCore", "StoaGossip", "StoaStore"]),
        /// `stoa bench`: a load generator for PocketBase's Records API (Stoa and PocketBase alike),
        /// and the raw-SQLite baseline through GRDB.
        .target(
            name: "StoaBench",
            dependencies: [
                "StoaCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "stoa",
            dependencies: [
                "StoaNode",
                "StoaGateway",
                "StoaSimulator",
                "StoaBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        /// Benchmark only: a SwiftNIO server answering one fixed response, the floor under the
        /// gateway's cache hit (benchmarks/gateway-vs-nginx.sh).
        .executableTarget(
            name: "stoa-http-floor",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "benchmarks/http-floor"
        ),
        /// Benchmark only: nanoseconds per operation of the gateway's pure core (rate limiter, client
        /// address, response cache); `bash benchmarks/gateway-core/run.sh`.
        .executableTarget(name: "stoa-gateway-core-bench", dependencies: ["StoaGateway"], path: "benchmarks/gateway-core"),
        .testTarget(name: "StoaCoreTests", dependencies: ["StoaCore"]),
        .testTarget(name: "StoaGossipTests", dependencies: ["StoaGossip"]),
        .testTarget(
            name: "StoaGatewayTests",
            dependencies: [
                "StoaGateway", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(name: "StoaStoreTests", dependencies: ["StoaStore"]),
        .testTarget(name: "StoaSimulatorTests", dependencies: ["StoaSimulator", "StoaCore", "StoaGossip", "StoaStore"]),
        .testTarget(
            name: "StoaNodeTests",
            dependencies: [
                "StoaNode",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "StoaBenchTests",
            dependencies: [
                "StoaBench",
                "StoaNode",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "StoaEndToEndTests",
            dependencies: [
                "StoaCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
