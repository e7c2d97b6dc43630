/// How far ahead one dataset reads, from its tile size, the cache budget and the workers.
///
/// - Stream read-ahead keeps about 2 tiles per worker in flight or decoded ahead of a
///   sequential reader (at least 8 MiB of file for small tiles), never more than a quarter
///   of the budget per stream; the cache caps all read-ahead together at half the budget.
///   Off when a quarter of the budget does not hold one tile.
/// - In-read lookahead (a read spanning several tiles) hands up to 2 tiles per worker
///   beyond the one being copied to the workers, never more than half the tiles the cache
///   holds, so they are still cached when the read gets there.
struct ReadAheadSizing: Sendable {
    var streamAheadBytes: Int
    var step: Int
    var inReadDepth: Int

    init(tileBytes: Int, budget: Int, workers: Int) {
        let tile = max(1, tileBytes)
        let perWorker = 2 * max(1, workers)
        let quarter = budget / 4
        let depth = min(perWorker, quarter / tile)
        streamAheadBytes = depth == 0 ? 0 : min(quarter, max(depth * tile, 8 << 20))
        // Ask again once the reader has moved by a tile (or a quarter of the window).
        step = max(1, min(tile, streamAheadBytes / 4))
        inReadDepth = min(perWorker, budget / tile / 2)
    }
}

extension TiledReader {
    /// Notes a read for sequential detection and, when it continues a stream, drops the
    /// tiles it left behind (`dropsBehind`) and, if `readsAhead`, reserves and schedules
    /// the loads of the tiles ahead of it. Returns whether the stream's read-ahead already
    /// covered this read's own range.
    func noteStream(offset: Int, count: Int, readsAhead: Bool) -> Bool {
        let aheadBytes = readsAhead ? sizing.streamAheadBytes : 0
        guard aheadBytes > 0 || dropsBehind else { return false }
        let fileSize = grid.elementCount * grid.elementSize
        let decision = streams.withLock { streams in
            streams.note(offset: offset, count: count, fileSize: fileSize, aheadBytes: aheadBytes, step: sizing.step)
        }
        // First, so that the loads scheduled next reuse the buffers it frees.
        if dropsBehind, let behind = decision.behind { dropBehind(behind, streamStart: decision.start) }
        guard let window = decision.window else { return decision.covered }
        let elementSize = grid.elementSize
        let elements = (window.range.lowerBound / elementSize) ..< ((window.range.upperBound + elementSize - 1) / elementSize)
        EngineCounters.bump(context.counters.readAheadWindows)
        if !schedule(grid.tiles(touching: elements), speculative: true, priority: .readAhead) {
            streams.withLock { $0.retreat(stream: window.stream, to: window.range.lowerBound) }
        }
        return decision.covered
    }

    /// Warms the cache with the tiles of a byte range (explicit read-ahead).
    func prefetch(offset: Int, count: Int) {
        let elementSize = grid.elementSize
        let elements = (offset / elementSize) ..< ((offset + count + elementSize - 1) / elementSize)
        _ = schedule(grid.tiles(touching: elements), speculative: true, priority: .readAhead)
    }

    /// Reserves the loads of `tiles` in the cache (skipping cached, in-flight and
    /// unallocated ones) and hands them to the scheduler, small tiles batched into jobs of
    /// about 256 KiB. Returns false when read-ahead's share of the cache filled up first.
    @discardableResult
    func schedule(_ tiles: [[Int]], speculative: Bool, priority: JobPriority) -> Bool {
        guard !tiles.isEmpty else { return true }
        let linears = tiles.map { grid.linearIndex(of: $0) }
        if case .chunks = source {
            // Usually known already; otherwise one reader call for the blocks ahead, so the
            // reader itself finds them known. A failure is left for the read that needs them.
            guard (try? learn(linears)) != nil else { return true }
        }
        typealias Load = (key: TileKey, pending: ChunkCache.Pending, tile: [Int])
        var jobs: [@Sendable () -> Void] = []
        var batch: [Load] = []
        var batchBytes = 0
        var complete = true
        func flush() {
            guard !batch.isEmpty else { return }
            let loads = batch
            jobs.append { [self] in
                for load in loads {
                    context.cache.runScheduled(load.key, load.pending) { () throws(ChunkReadError) -> Tile in
                        try self.load(load.tile)
                    }
                }
            }
            batch.removeAll()
            batchBytes = 0
        }
        var requests: [(key: TileKey, bytes: Int, tile: [Int])] = []
        requests.reserveCapacity(tiles.count)
        for (tile, linear) in zip(tiles, linears) {
            if case .chunks(let index, _) = source {
                guard case .allocated? = index.entry(of: linear) else { continue }
            }
            requests.append((TileKey(dataset: datasetID, tile: linear), grid.bufferBytes(of: tile), tile))
        }
        let reservations = context.cache.reserve(requests.map { ($0.key, $0.bytes) }, speculative: speculative)
        for (request, reservation) in zip(requests, reservations) {
            switch reservation {
            case .present:
                continue
            case .full:
                complete = false
            case .reserved(let pending):
                batch.append((request.key, pending, request.tile))
                batchBytes += request.bytes
                if batchBytes >= 256 << 10 { flush() }
            }
        }
        flush()
        context.scheduler.schedule(jobs, priority: priority)
        return complete
    }
}
