// swift-tools-version:6.0
// h5mount: mount HDF5 containers as directory trees (FUSE3).
// Layers (each depends only on those below it; see docs/architecture.md):
//   h5mount -> FUSEBridge -> H5FS -> (HDF5, ChunkEngine -> Codecs) -> H5Model
import PackageDescription

let package = Package(
    name: "h5mount",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "h5mount", targets: ["h5mount"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian packages, found with pkg-config.
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CFUSE", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),

        // A mutex with a condition variable, for the worker pools (Synchronization.Mutex has
        // none); where a thread may run.
        .target(name: "Threads", dependencies: ["CThreadPlacement"]),
        // CPU affinity of a thread (GNU calls Swift's Glibc does not declare), for Threads.
        .target(name: "CThreadPlacement"),
        // Plain value types shared by every layer: datatypes, layouts, JSON, the reader protocol.
        .target(name: "H5Model"),
        // Pure byte transforms (HDF5 filter pipeline): deflate, shuffle, fletcher32, lz4, bitshuffle.
        .target(name: "Codecs", dependencies: ["CLZ4", "CDeflate", "CodecKernels", "H5Model"]),
        // SIMD byte/bit transposes and Fletcher-32 for Codecs (C for SSE2/AVX2, picked at run time).
        .target(name: "CodecKernels"),
        // The only importer of CHDF5: a Swift face on libhdf5 behind one gate.
        .target(name: "HDF5", dependencies: ["CHDF5", "H5Model", "Threads"]),
        // Chunk index, pread, filter pipeline, decoded-chunk cache.
        .target(name: "ChunkEngine", dependencies: ["Codecs", "H5Model", "Threads"]),
        // The write path below the filesystem: spools, packer, working copy, journal, recovery.
        .target(name: "Staging", dependencies: ["HDF5", "Codecs", "H5Model", "Threads"]),
        // The filesystem: inodes, namespace mapping, sidecars. No libfuse types.
        .target(name: "H5FS", dependencies: ["H5Model", "HDF5", "ChunkEngine", "Staging", "Threads"]),
        // The only importer of CFUSE: libfuse3 low-level callbacks -> H5FS calls.
        .target(name: "FUSEBridge", dependencies: ["CFUSE", "H5FS", "H5Model", "Threads"]),
        // The CLI's logic, importable by tests: -o parsing, checks, daemon start, unmount.
        // (Staging: leftover work of a crashed session, --recover, --discard.)
        .target(name: "MountCLI", dependencies: ["HDF5", "Codecs", "FUSEBridge", "H5FS", "Staging", "H5Model", "Threads"]),
        .executableTarget(name: "h5mount", dependencies: [
            "MountCLI", "FUSEBridge", "H5FS", "HDF5", "H5Model",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "h5bench-engine", dependencies: ["ChunkEngine", "HDF5", "H5Model"]),
        // libFuzzer targets for the codecs and the sidecar parsers (docs/fuzzing.md); a replay tool
        // in an ordinary build.
        .executableTarget(name: "h5fuzz", dependencies: ["Codecs", "H5Model", "H5FS", "TestSupport"]),

        .target(name: "TestSupport", dependencies: ["H5Model"], path: "Tests/TestSupport"),
        .testTarget(name: "ThreadsTests", dependencies: ["Threads"]),
        .testTarget(name: "H5ModelTests", dependencies: ["H5Model", "TestSupport"]),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "H5Model", "TestSupport"]),
        .testTarget(name: "ChunkEngineTests", dependencies: ["ChunkEngine", "Codecs", "HDF5", "H5Model", "TestSupport"]),
        .testTarget(name: "StagingTests", dependencies: ["Staging", "HDF5", "Codecs", "H5Model", "TestSupport"]),
        .testTarget(name: "H5FSTests", dependencies: ["H5FS", "HDF5", "H5Model", "TestSupport"]),
        .testTarget(name: "FUSEBridgeTests", dependencies: ["FUSEBridge", "H5FS", "TestSupport"]),
        .testTarget(name: "MountCLITests", dependencies: ["MountCLI", "FUSEBridge", "H5FS", "Staging", "H5Model"]),
    ],
    swiftLanguageModes: [.v6]
)
