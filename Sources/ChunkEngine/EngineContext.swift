/// What every dataset of one engine shares: the cache, the descriptors, the codec,
/// the scheduler and the counters.
final class EngineContext: Sendable {
    let cache: ChunkCache
    let files = FileTable()
    let codec: any ChunkCodec
    let scheduler: any DecodeScheduler
    let counters = EngineCounters()

    init(cacheBytes: Int, codec: any ChunkCodec, scheduler: any DecodeScheduler) {
        cache = ChunkCache(budget: cacheBytes)
        self.codec = codec
        self.scheduler = scheduler
    }
}
