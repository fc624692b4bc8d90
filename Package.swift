// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ipcsweep",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ipcsweep", targets: ["ipcsweep"]),
        .library(name: "IPCSweepCore", targets: ["IPCSweepCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // C shim: only what Swift cannot call (variadic semctl, union semun, *_STAT_ANY, IPC_INFO).
        .target(name: "CSysVIPC"),
        // libacl (acl_get_file) for the POSIX ACLs of /dev/shm and /dev/mqueue entries in `audit`.
        .systemLibrary(
            name: "CACL",
            pkgConfig: "libacl",
            providers: [.apt(["libacl1-dev"])]
        ),
        // libsystemd's sd-bus: when a --unit service's current invocation began (InactiveExitTimestamp).
        // Its header comes from libsystemd-dev; libsystemd.so.0 is loaded on first use (sdbus.c), not linked.
        .target(name: "CSystemd"),
        // The library: snapshots, classifier, removal, audit, renderers. Never imports ArgumentParser.
        .target(
            name: "IPCSweepCore",
            dependencies: [
                "CSysVIPC",
                "CACL",
                "CSystemd",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The command-line tool: parses options and hands off to IPCSweepCore.
        .executableTarget(
            name: "ipcsweep",
            dependencies: [
                "IPCSweepCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test helper: creates and holds IPC objects in scenarios (never installed).
        .executableTarget(name: "ipcsweep-testkit", dependencies: ["CSysVIPC"]),
        .testTarget(
            name: "IPCSweepCoreTests",
            dependencies: ["IPCSweepCore", "CSysVIPC"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "IPCSweepIntegrationTests",
            dependencies: ["IPCSweepCore"]
        ),
    ]
)
