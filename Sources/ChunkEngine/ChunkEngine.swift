import H5Model
import Synchronization

/// Reads the raw-array files of datasets (DESIGN.md §1, §3 "ChunkEngine") without libhdf5
/// wherever it can: chunk locations are learnt once through the `ContainerReader`, chunks
/// are read with pread on the engine's own descriptors and decoded by the codec outside
/// every lock, and decoded chunks live in one LRU cache with a byte budget.
///
/// Locks: the engine's registry, the file table, each chunk index, each dataset's stream
/// table, the cache, each fill tile, each in-flight latch, the buffer pools and the job
/// queue have their own lock. Only one nesting exists: cache -> buffer pool (a tile evicted
/// under the cache's lock hands its buffer back). Otherwise none is taken while another is
/// held, and none is held during I/O, decoding or a reader call.
package final class ChunkEngine: Sendable {
    let context: EngineContext

    /// Datasets seen so far, by what makes their tiles interchangeable. The id keys the
    /// cache; the index remembers chunk locations for the engine's lifetime.
    struct DatasetKey: Hashable {
        var filePath: String
        var path: H5Path
        var tileShape: [Int]
        var decodesChunks: Bool
        /// Tiles assembled from a virtual dataset's sources (their buffers may be full
        /// chunk-shaped where libhdf5's blocks are clipped).
        var virtual = false
    }
    struct Registered {
        var id: Int
        var index: ChunkIndex
    }
    private struct Registry {
        var datasets: [DatasetKey: Registered] = [:]
        var nextID = 0
    }
    private let registry = Mutex(Registry())

    /// The daemon's engine: the Codecs filter pipeline, decoding on a pool of one worker
    /// thread per core (they leave when the engine and its datasets are gone).
    /// `dropsStreamedTiles`: the kernel keeps what readers were sent (a read-only mount),
    /// so tiles a sequential stream has read are dropped (TiledReader+DropBehind.swift).
    package convenience init(cacheBytes: Int, dropsStreamedTiles: Bool = false) {
        self.init(cacheBytes: cacheBytes, codec: FilterPipelineCodec(), scheduler: PoolDecodeScheduler(),
                  dropsStreamedTiles: dropsStreamedTiles)
    }

    /// `codec` decodes chunks (tests inject counting or failing ones); `scheduler` runs
    /// cache-filling loads: parallel decode and read-ahead with a concurrent one, every
    /// load on the reading thread with `InlineDecodeScheduler`.
    package init(cacheBytes: Int, codec: any ChunkCodec, scheduler: any DecodeScheduler = InlineDecodeScheduler(),
                 dropsStreamedTiles: Bool = false) {
        context = EngineContext(cacheBytes: cacheBytes, codec: codec, scheduler: scheduler,
                                dropsStreamedTiles: dropsStreamedTiles)
    }

    package var cachedBytes: Int { context.cache.cachedBytes }

    /// Whether chunks with this filter pipeline are decoded natively (else read through libhdf5).
    package func decodesNatively(_ filters: [FilterSpec]) -> Bool { context.codec.canDecode(filters) }

    package var statistics: ChunkEngineStatistics {
        let cache = context.cache.snapshot
        let counters = context.counters
        return ChunkEngineStatistics(
            cachedBytes: cache.cachedBytes,
            cachedTiles: cache.cachedTiles,
            chunkLoads: counters.chunkLoads.load(ordering: .relaxed),
            blockReads: counters.blockReads.load(ordering: .relaxed),
            locateCalls: counters.locateCalls.load(ordering: .relaxed),
            nativeIndexes: counters.nativeIndexes.load(ordering: .relaxed),
            nativeIndexRejected: counters.nativeIndexRejected.load(ordering: .relaxed),
            directChunkReads: counters.directChunkReads.load(ordering: .relaxed),
            readAheadWindows: counters.readAheadWindows.load(ordering: .relaxed),
            readAheadTiles: cache.aheadTiles,
            readAheadUnused: cache.aheadUnused,
            scheduledLoads: context.cache.scheduledRuns.load(ordering: .relaxed),
            inFlightBytes: cache.inFlightBytes,
            peakBytes: cache.peakBytes,
            pooledBytes: context.tilePool.bytes + context.scratchPool.bytes,
            bufferReuses: context.tilePool.reuses.load(ordering: .relaxed),
            bufferAllocations: context.tilePool.allocations.load(ordering: .relaxed),
            droppedBehind: counters.droppedBehind.load(ordering: .relaxed),
            virtualTiles: counters.virtualTiles.load(ordering: .relaxed),
            virtualWholeChunks: counters.virtualWholeChunks.load(ordering: .relaxed))
    }

    /// Prepares reads of one dataset with a fixed-size raw form (`.rawArray` or `.bytes`).
    /// Cheap: no I/O and no reader call until the first read. `followsWrites` (`-o swmr`):
    /// a writer is appending, so chunk locations come from the reader only (whose lookups
    /// follow its refreshes), never from our own walk of an index that may be mid-update.
    /// `virtualSources`: how a virtual dataset's source files are found; with it, a virtual
    /// dataset is read natively from its sources where it can (ChunkEngine+Virtual.swift),
    /// without it (and where it cannot) through libhdf5.
    package func dataset(reader: any ContainerReader, path: H5Path, info: DatasetInfo,
                         followsWrites: Bool = false,
                         virtualSources: (any VirtualSourceFiles)? = nil) throws(ChunkReadError) -> RawArrayDataset {
        try dataset(reader: reader, path: path, info: info, followsWrites: followsWrites, staleAfter: nil,
                    virtualSources: virtualSources)
    }

    /// `-o swmr`: the dataset again after a refresh (`info` is new; `previousShape` is what
    /// the last one showed). Tiles and chunk locations from the old edge row of chunks on
    /// (along the first dimension) are forgotten: a chunk the writer was still filling, or
    /// one it had not written yet, may have changed. Everything before stays cached.
    package func refreshedDataset(reader: any ContainerReader, path: H5Path, info: DatasetInfo,
                                  previousShape: [UInt64]?) throws(ChunkReadError) -> RawArrayDataset {
        try dataset(reader: reader, path: path, info: info, followsWrites: true, staleAfter: previousShape ?? [])
    }

    private func dataset(reader: any ContainerReader, path: H5Path, info: DatasetInfo, followsWrites: Bool,
                         staleAfter previousShape: [UInt64]?,
                         virtualSources: (any VirtualSourceFiles)? = nil) throws(ChunkReadError) -> RawArrayDataset {
        let plan = try RawArrayPlan(path: path, info: info, canDecode: context.codec.canDecode)
        var access = plan.access
        if case .virtual(let blocks) = access {
            // Natively from the sources, planned at the first read; a file a SWMR writer
            // changes stays with libhdf5 (its sources may be growing).
            if let virtualSources, !followsWrites {
                let virtual = virtualDataset(reader: reader, path: path, info: info, blocks: blocks, sources: virtualSources)
                return RawArrayDataset(byteCount: plan.byteCount, path: path, reader: reader,
                                       storage: .virtual(virtual), context: context)
            }
            access = .tiles(blocks, decodesChunks: false)
        }
        let storage: RawArrayDataset.Storage
        switch access {
        case .empty:
            storage = .empty
        case .direct(let fileOffset):
            storage = .direct(fileOffset: fileOffset)
        case .virtual(let blocks):
            storage = .tiled(blockReader(reader: reader, path: path, info: info, grid: blocks))
        case .tiles(let grid, let decodesChunks):
            let registered = register(DatasetKey(filePath: reader.filePath, path: path,
                                                 tileShape: grid.tileShape, decodesChunks: decodesChunks))
            if followsWrites { registered.index.nativeAttempt.run {} }
            if let previousShape {
                let stale = grid.firstStaleTile(previousShape: previousShape)
                registered.index.forget(from: stale)
                context.cache.remove(dataset: registered.id, tilesFrom: stale)
            }
            let source: TiledReader.Source = decodesChunks ? .chunks(registered.index, filters: info.filters) : .blocks
            storage = .tiled(TiledReader(grid: grid, source: source, path: path, isScalar: plan.isScalar,
                                         datasetID: registered.id, reader: reader,
                                         fillElement: info.fillValueBytes, maxShape: Self.finite(info.maxShape),
                                         context: context))
        }
        return RawArrayDataset(byteCount: plan.byteCount, path: path, reader: reader, storage: storage, context: context)
    }

    /// Forgets everything known about one container: descriptor, chunk locations, cached
    /// tiles. For when the file changes under the engine (the write path). Datasets made
    /// before keep what they knew: make them again.
    package func invalidate(filePath: String) {
        let ids: Set<Int> = registry.withLock { registry in
            let keys = registry.datasets.keys.filter { $0.filePath == filePath }
            return Set(keys.compactMap { registry.datasets.removeValue(forKey: $0)?.id })
        }
        context.cache.remove(datasets: ids)
        context.files.forget(path: filePath)
    }

    /// Maximum dims as Ints when every one is finite and fits.
    private static func finite(_ maxShape: [UInt64?]?) -> [Int]? {
        guard let maxShape else { return nil }
        let dims = maxShape.compactMap { $0 }.filter { $0 <= UInt64(Int.max) }.map { Int($0) }
        return dims.count == maxShape.count ? dims : nil
    }

    func register(_ key: DatasetKey) -> Registered {
        registry.withLock { registry in
            if let known = registry.datasets[key] { return known }
            let registered = Registered(id: registry.nextID, index: ChunkIndex())
            registry.nextID += 1
            registry.datasets[key] = registered
            return registered
        }
    }
}
