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
    /// Chunk indexes read whole from the file, and attempts that failed or were refused
    /// (then the index is learnt from the reader).
    package var nativeIndexes: Int = 0
    package var nativeIndexRejected: Int = 0
    /// Unfiltered chunks copied straight from the file into a reader's buffer (no cache).
    package var directChunkReads: Int = 0
    /// Times a sequential stream asked for read-ahead.
    package var readAheadWindows: Int = 0
    /// Tile loads registered by read-ahead (stream read-ahead and `prefetch`).
    package var readAheadTiles: Int = 0
    /// Read-ahead tiles dropped from the cache before any reader touched them.
    package var readAheadUnused: Int = 0
    /// Loads run by scheduled jobs (on workers), as opposed to by the readers themselves.
    package var scheduledLoads: Int = 0
    /// Bytes reserved by loads in flight now, and the most ever held by cache + loads.
    package var inFlightBytes: Int = 0
    package var peakBytes: Int = 0
    /// Free buffers kept for reuse (tiles and stored-chunk scratch), and how often a load
    /// reused one rather than allocating.
    package var pooledBytes: Int = 0
    package var bufferReuses: Int = 0
    package var bufferAllocations: Int = 0
    /// Tiles dropped behind sequential streams (engines made with `dropsStreamedTiles`).
    package var droppedBehind: Int = 0
    /// Tiles of virtual datasets made natively from their sources (ChunkEngine+Virtual.swift),
    /// and those of them that were one source chunk decoded in place.
    package var virtualTiles: Int = 0
    package var virtualWholeChunks: Int = 0
}

/// Lock-free counters shared by the engine's datasets.
final class EngineCounters: Sendable {
    let chunkLoads = Atomic<Int>(0)
    let blockReads = Atomic<Int>(0)
    let locateCalls = Atomic<Int>(0)
    let directChunkReads = Atomic<Int>(0)
    let readAheadWindows = Atomic<Int>(0)
    let nativeIndexes = Atomic<Int>(0)
    let nativeIndexRejected = Atomic<Int>(0)
    let droppedBehind = Atomic<Int>(0)
    let virtualTiles = Atomic<Int>(0)
    let virtualWholeChunks = Atomic<Int>(0)

    static func bump(_ counter: borrowing Atomic<Int>) {
        counter.wrappingAdd(1, ordering: .relaxed)
    }
}
