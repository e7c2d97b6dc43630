/// What every dataset of one engine shares: the cache, the descriptors, the codec,
/// the scheduler, the buffer pools and the counters.
final class EngineContext: Sendable {
    let cache: ChunkCache
    let files = FileTable()
    let codec: any ChunkCodec
    let scheduler: any DecodeScheduler
    let counters = EngineCounters()
    /// Buffers of dropped tiles, for the next tiles of the same size: up to an eighth of
    /// the budget (64 MiB at most), and two tiles in any case if they fit half the budget;
    /// beyond the budget (the engine's fixed overhead).
    let tilePool: BufferPool
    /// Buffers for stored (compressed) chunks while they are decoded.
    let scratchPool: BufferPool
    /// Tiles a sequential stream has read leave the cache (TiledReader+DropBehind.swift).
    let dropsStreamedTiles: Bool

    init(cacheBytes: Int, codec: any ChunkCodec, scheduler: any DecodeScheduler, dropsStreamedTiles: Bool = false) {
        cache = ChunkCache(budget: cacheBytes)
        self.dropsStreamedTiles = dropsStreamedTiles
        self.codec = codec
        self.scheduler = scheduler
        tilePool = BufferPool(limit: min(max(0, cacheBytes) / 8, 64 << 20), exact: true,
                              keepAtLeast: 2, largestKept: max(0, cacheBytes) / 2)
        scratchPool = BufferPool(limit: 32 << 20, exact: false)
    }
}
