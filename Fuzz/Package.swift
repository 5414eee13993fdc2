// swift-tools-version:6.1
import PackageDescription

/// Coverage-guided fuzz targets for Stoa's parsers of untrusted input, one libFuzzer executable
/// per input kind. Built only by `scripts/fuzz.sh` (its own scratch path, with
/// `-sanitize=fuzzer`), so the main package's build and `swift test` never see it.
/// Each target reaches the code under test through `@testable import` (the fuzz build passes
/// `-enable-testing`), so no entry point is made public for fuzzing's sake.
let package = Package(
    name: "stoa-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "stoa", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        /// The libFuzzer driver and helpers shared by the targets.
        .target(name: "FuzzSupport"),
        /// A small in-memory store the query targets run against.
        .target(name: "FuzzFixtures", dependencies: ["FuzzSupport", .product(name: "StoaStore", package: "stoa"), .product(name: "StoaCore", package: "stoa")]),
        .executableTarget(
            name: "FuzzSyncCursor",
            dependencies: ["FuzzSupport", "FuzzFixtures", .product(name: "StoaStore", package: "stoa"), .product(name: "StoaCore", package: "stoa")]
        ),
        .executableTarget(
            name: "FuzzRecordInput",
            dependencies: ["FuzzSupport", .product(name: "StoaNode", package: "stoa"), .product(name: "StoaStore", package: "stoa")]
        ),
        .executableTarget(
            name: "FuzzFilterSort",
            dependencies: ["FuzzSupport", "FuzzFixtures", .product(name: "StoaNode", package: "stoa"), .product(name: "StoaStore", package: "stoa")]
        ),
        .executableTarget(
            name: "FuzzWireCodec",
            dependencies: [
                "FuzzSupport", .product(name: "StoaGossip", package: "stoa"), .product(name: "StoaCore", package: "stoa"),
                .product(name: "StoaGateway", package: "stoa"),
            ]
        ),
        .executableTarget(
            name: "FuzzGatewayRequest",
            dependencies: [
                "FuzzSupport",
                .product(name: "StoaGateway", package: "stoa"),
                .product(name: "StoaNode", package: "stoa"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
