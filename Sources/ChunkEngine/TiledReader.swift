import Glibc
import H5Model
import Synchronization

/// Serves byte ranges of a raw-array file by copying runs out of tiles (decoded chunks or
/// blocks read through libhdf5), fetched through the engine's shared cache; unfiltered
/// chunks are read with pread straight into the caller's buffer instead.
///
/// With a concurrent scheduler a read hands the next tiles it will copy to the workers
/// while it copies the current one, and a sequential reader's reads start read-ahead
/// (TiledReader+ReadAhead.swift) and, where the kernel caches what was read, drop the
/// tiles behind the reader (TiledReader+DropBehind.swift).
///
/// Locks: the fill-tile mutex, the stream table's, the chunk index's, the cache's — none
/// is held while another is taken, nor during any load.
final class TiledReader: Sendable {
    enum Source: Sendable {
        /// Chunks located through the reader, read with pread and decoded by the codec.
        case chunks(ChunkIndex, filters: [FilterSpec])
        /// Blocks read through `ContainerReader.readBlock` (any layout, any filter).
        case blocks
        /// Pieces of source datasets (a virtual dataset read natively: TiledReader+Virtual.swift).
        case virtual(VirtualLayout)
    }

    let grid: TileGrid
    let source: Source
    let path: H5Path
    /// A scalar dataset is a 1-element grid, but libhdf5 wants empty start/count for it.
    let isScalar: Bool
    let datasetID: Int
    let reader: any ContainerReader
    let fillElement: [UInt8]?
    /// Maximum dims when all are finite (how a fixed-array chunk index is laid out).
    let maxShape: [Int]?
    let context: EngineContext
    let fillTileSlot = Mutex<Tile?>(nil)
    let streams = Mutex(ReadStreams())
    let sizing: ReadAheadSizing
    /// Chunks stored without filters, in runs long enough that a pread each is cheap, are
    /// copied from the file (the kernel's page cache) into the caller's buffer, not
    /// through the cache: one copy instead of two, and no tile memory.
    let readsUnfilteredChunks: Bool
    static let unfilteredRunBytes = 64 << 10
    /// Whether tiles a sequential stream has left behind are dropped from the cache
    /// (TiledReader+DropBehind.swift); unfiltered chunks never enter it.
    var dropsBehind: Bool { context.dropsStreamedTiles && !readsUnfilteredChunks }

    /// Tiles a single read keeps at hand beyond the cache, so that a read crossing narrow
    /// tiles row after row does not fetch each tile once per row.
    private static let holdLimit = 64 << 20

    init(grid: TileGrid, source: Source, path: H5Path, isScalar: Bool, datasetID: Int,
         reader: any ContainerReader, fillElement: [UInt8]?, maxShape: [Int]? = nil, context: EngineContext) {
        self.grid = grid; self.source = source; self.path = path; self.isScalar = isScalar
        self.datasetID = datasetID; self.reader = reader; self.fillElement = fillElement
        self.maxShape = maxShape; self.context = context
        sizing = ReadAheadSizing(tileBytes: grid.largestTileBytes, budget: context.cache.budget,
                                 workers: context.scheduler.workerCount)
        if case .chunks(_, let filters) = source {
            readsUnfilteredChunks = filters.isEmpty && grid.shortestRunBytes >= Self.unfilteredRunBytes
        } else {
            readsUnfilteredChunks = false
        }
    }

    /// Bytes `offset ..< offset+count` of the file into `out`; the range lies inside the file.
    func read(offset: Int, count: Int, into out: UnsafeMutableRawPointer) throws(ChunkReadError) {
        try serve(offset: offset, count: count, unfilteredInto: out) { tile, source, length, destination in
            memcpy(out + destination, tile.bytes.baseAddress! + source, length)
        }
    }

    /// Serves bytes `offset ..< offset+count` of the file (inside it): each stretch that
    /// lies in a tile goes to `take(tile, byte in the tile, length, byte of the range)`, in
    /// file order; unfiltered chunks are read straight into `unfilteredInto` (which must
    /// then be given). Streams, read-ahead and drop-behind are noted as for any read.
    func serve(offset: Int, count: Int, unfilteredInto out: UnsafeMutableRawPointer?,
               _ take: (Tile, Int, Int, Int) -> Void) throws(ChunkReadError) {
        let elementSize = grid.elementSize
        let end = offset + count
        let elements = (offset / elementSize) ..< ((end + elementSize - 1) / elementSize)
        let concurrent = context.scheduler.isConcurrent && !readsUnfilteredChunks
        let covered = noteStream(offset: offset, count: count, readsAhead: concurrent) && concurrent

        // Tiles this read copies after its first, handed to the workers a few at a time
        // (unless the stream's read-ahead has registered them already).
        var lookahead: [[Int]] = []
        if concurrent && !covered && sizing.inReadDepth > 0 {
            let tiles = grid.tiles(touching: elements)
            if tiles.count > 1 { lookahead = tiles }
        }
        var scheduled = 1
        var fetched = 0

        var currentKey: [Int] = []
        var current: Tile?
        var currentLocation: ChunkLocation?
        var held: [[Int]: Tile] = [:]
        var heldBytes = 0
        try grid.forEachRun(in: elements) { (run) throws(ChunkReadError) in
            let runStart = run.element * elementSize
            let from = max(runStart, offset)
            let to = min(runStart + run.count * elementSize, end)
            let source = run.bufferElement * elementSize + (from - runStart)
            if readsUnfilteredChunks {
                if run.tile != currentKey {
                    currentKey = run.tile
                    currentLocation = try unfilteredLocation(run.tile)
                    current = currentLocation == nil ? makeFillTile() : nil
                }
                if let location = currentLocation {
                    guard let out else { throw ChunkReadError("dataset \(path): unfiltered chunks need a buffer (engine bug)") }
                    try copyUnfiltered(location, tile: run.tile, from: source, count: to - from, into: out + (from - offset))
                    return
                }
            } else if current == nil || run.tile != currentKey {
                if let tile = held[run.tile] {
                    current = tile
                } else {
                    if !lookahead.isEmpty && scheduled < lookahead.count {
                        let upTo = min(lookahead.count, fetched + 1 + sizing.inReadDepth)
                        if upTo > scheduled {
                            schedule(Array(lookahead[scheduled ..< upTo]), speculative: false, priority: .urgent)
                            scheduled = upTo
                        }
                    }
                    let tile = try fetch(run.tile)
                    fetched += 1
                    if heldBytes + tile.count > Self.holdLimit { held.removeAll(); heldBytes = 0 }
                    held[run.tile] = tile
                    heldBytes += tile.count
                    current = tile
                }
                currentKey = run.tile
            }
            guard let tile = current else { return }
            let bytes = tile.bytes
            guard bytes.baseAddress != nil, source + (to - from) <= bytes.count else {
                throw ChunkReadError("dataset \(path): tile \(run.tile) holds \(bytes.count) bytes, "
                                     + "needed \(source + (to - from)) (engine bug)")
            }
            take(tile, source, to - from, from - offset)
        }
    }

    /// One tile: the shared fill tile for an unallocated chunk, else through the cache.
    func fetch(_ tile: [Int]) throws(ChunkReadError) -> Tile {
        let linear = grid.linearIndex(of: tile)
        if case .chunks = source, case .unallocated = try entry(of: linear) {
            return makeFillTile()
        }
        let key = TileKey(dataset: datasetID, tile: linear)
        return try context.cache.tile(for: key, bytes: grid.bufferBytes(of: tile)) { () throws(ChunkReadError) -> Tile in
            try load(tile)
        }
    }

    /// The index entry of a chunk, learning its block of the index if needed.
    func entry(of linear: Int) throws(ChunkReadError) -> ChunkIndex.Entry {
        guard case .chunks(let index, _) = source else { return .unallocated }
        if let entry = index.entry(of: linear) { return entry }
        // Twice: a refresh (`-o swmr`) may forget the block between learning and looking.
        for _ in 0..<2 {
            try learn([linear])
            if let entry = index.entry(of: linear) { return entry }
        }
        guard let entry = index.entry(of: linear) else {
            throw ChunkReadError("\(chunkName(grid.tile(atLinear: linear))): location unknown (engine bug)")
        }
        return entry
    }

    /// Makes sure the chunk index knows `linears`: the whole index read natively on first
    /// need, else their blocks learnt from the reader in one call.
    func learn(_ linears: [Int]) throws(ChunkReadError) {
        guard case .chunks(let index, _) = source else { return }
        index.nativeAttempt.run { readNativeIndex(into: index) }
        if index.isComplete { return }
        if try index.learn(linears, grid: grid, reader: reader, path: path) {
            EngineCounters.bump(context.counters.locateCalls)
        }
    }

    /// Loads a tile; runs outside every lock.
    func load(_ tile: [Int]) throws(ChunkReadError) -> Tile {
        switch source {
        case .blocks:
            return try loadBlock(tile)
        case .virtual(let layout):
            return try loadVirtual(tile, layout: layout)
        case .chunks(_, let filters):
            switch try entry(of: grid.linearIndex(of: tile)) {
            case .allocated(let location):
                return try loadChunk(tile, location: location, filters: filters)
            case .unallocated:
                return makeFillTile()
            }
        }
    }

    func chunkName(_ tile: [Int]) -> String {
        "dataset \(path) chunk at \(grid.origin(of: tile))"
    }
}
