import Synchronization

/// What the engine has done so far: for tests, stats and tuning.
package struct ChunkEngineStatistics: Sendable, Hashable {
    package var cachedBytes: Int
    package var cachedTiles: Int
    /// Chunks read with pread and decoded natively (unfiltered ones included).
    package var chunkLoads: Int
    /// Tiles read through `ContainerReader.readBlock` (libhdf5).
    package var blockReads: Int
    /// Batched `ContainerReader.chunkLocations` calls.
    package var locateCalls: Int
}

/// Lock-free counters shared by the engine's datasets.
final class EngineCounters: Sendable {
    let chunkLoads = Atomic<Int>(0)
    let blockReads = Atomic<Int>(0)
    let locateCalls = Atomic<Int>(0)

    static func bump(_ counter: borrowing Atomic<Int>) {
        counter.wrappingAdd(1, ordering: .relaxed)
    }
}
