import Glibc
import H5Model
import Synchronization

/// Serves byte ranges of a raw-array file by copying runs out of tiles (decoded chunks or
/// blocks read through libhdf5), fetched through the engine's shared cache.
/// Locks: the fill-tile mutex, the chunk index's, the cache's — none is held while another
/// is taken, nor during any load.
final class TiledReader: Sendable {
    enum Source: Sendable {
        /// Chunks located through the reader, read with pread and decoded by the codec.
        case chunks(ChunkIndex, filters: [FilterSpec])
        /// Blocks read through `ContainerReader.readBlock` (any layout, any filter).
        case blocks
    }

    let grid: TileGrid
    let source: Source
    let path: H5Path
    /// A scalar dataset is a 1-element grid, but libhdf5 wants empty start/count for it.
    let isScalar: Bool
    let datasetID: Int
    let reader: any ContainerReader
    let fillElement: [UInt8]?
    let context: EngineContext
    let fillTileSlot = Mutex<Tile?>(nil)

    /// Tiles a single read keeps at hand beyond the cache, so that a read crossing narrow
    /// tiles row after row does not fetch each tile once per row.
    private static let holdLimit = 64 << 20

    init(grid: TileGrid, source: Source, path: H5Path, isScalar: Bool, datasetID: Int,
         reader: any ContainerReader, fillElement: [UInt8]?, context: EngineContext) {
        self.grid = grid; self.source = source; self.path = path; self.isScalar = isScalar
        self.datasetID = datasetID; self.reader = reader; self.fillElement = fillElement
        self.context = context
    }

    /// Bytes `offset ..< offset+count` of the file; the range lies inside it.
    func read(offset: Int, count: Int) throws(ChunkReadError) -> [UInt8] {
        let elementSize = grid.elementSize
        let end = offset + count
        let elements = (offset / elementSize) ..< ((end + elementSize - 1) / elementSize)
        // The list of tiles is needed for one batched location lookup and for handing
        // loads to a concurrent scheduler; blocks read inline need neither.
        var decodesChunks = false
        if case .chunks = source { decodesChunks = true }
        if decodesChunks || context.scheduler.isConcurrent {
            let tiles = grid.tiles(touching: elements)
            try prepare(tiles)
            if context.scheduler.isConcurrent && tiles.count > 1 {
                context.scheduler.schedule(tiles.dropFirst().map { tile in { _ = try? self.fetch(tile) } })
            }
        }

        var failure: ChunkReadError?
        let output = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            guard let out = buffer.baseAddress else { return }
            do throws(ChunkReadError) {
                var currentKey: [Int] = []
                var current: Tile?
                var held: [[Int]: Tile] = [:]
                var heldBytes = 0
                try grid.forEachRun(in: elements) { (run) throws(ChunkReadError) in
                    if current == nil || run.tile != currentKey {
                        if let tile = held[run.tile] {
                            current = tile
                        } else {
                            let tile = try fetch(run.tile)
                            if heldBytes + tile.bytes.count > Self.holdLimit { held.removeAll(); heldBytes = 0 }
                            held[run.tile] = tile
                            heldBytes += tile.bytes.count
                            current = tile
                        }
                        currentKey = run.tile
                    }
                    guard let tile = current else { return }
                    let runStart = run.element * elementSize
                    let from = max(runStart, offset)
                    let to = min(runStart + run.count * elementSize, end)
                    let source = run.bufferElement * elementSize + (from - runStart)
                    let copied = tile.bytes.withUnsafeBytes { bytes in
                        guard let base = bytes.baseAddress, source + (to - from) <= bytes.count else { return false }
                        memcpy(out + (from - offset), base + source, to - from)
                        return true
                    }
                    guard copied else {
                        throw ChunkReadError("dataset \(path): tile \(run.tile) holds \(tile.bytes.count) bytes, "
                                             + "needed \(source + (to - from)) (engine bug)")
                    }
                }
                initialized = count
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return output
    }

    /// Warms the cache with the tiles of a byte range (read-ahead), through the scheduler.
    func prefetch(offset: Int, count: Int) {
        let elementSize = grid.elementSize
        let elements = (offset / elementSize) ..< ((offset + count + elementSize - 1) / elementSize)
        let tiles = grid.tiles(touching: elements)
        guard (try? prepare(tiles)) != nil else { return }
        let missing = tiles.filter { !context.cache.contains(TileKey(dataset: datasetID, tile: $0)) }
        context.scheduler.schedule(missing.map { tile in { _ = try? self.fetch(tile) } })
    }

    /// Learns, in one reader call, where the chunks a read touches are.
    private func prepare(_ tiles: [[Int]]) throws(ChunkReadError) {
        guard case .chunks(let index, _) = source else { return }
        if try index.learn(tiles, tileShape: grid.tileShape, reader: reader, path: path) {
            EngineCounters.bump(context.counters.locateCalls)
        }
    }

    /// One tile: the shared fill tile for an unallocated chunk, else through the cache.
    func fetch(_ tile: [Int]) throws(ChunkReadError) -> Tile {
        if case .chunks(let index, _) = source {
            if index.entry(of: tile) == nil { try prepare([tile]) }
            if case .unallocated? = index.entry(of: tile) { return makeFillTile() }
        }
        return try context.cache.tile(for: TileKey(dataset: datasetID, tile: tile)) { () throws(ChunkReadError) -> Tile in
            try load(tile)
        }
    }

    /// Loads a tile; runs outside every lock.
    private func load(_ tile: [Int]) throws(ChunkReadError) -> Tile {
        switch source {
        case .blocks:
            return try loadBlock(tile)
        case .chunks(let index, let filters):
            switch index.entry(of: tile) {
            case .allocated(let location)?:
                return try loadChunk(tile, location: location, filters: filters)
            case .unallocated?:
                return makeFillTile()
            case nil:
                throw ChunkReadError("\(chunkName(tile)): location unknown (engine bug)")
            }
        }
    }

    func chunkName(_ tile: [Int]) -> String {
        "dataset \(path) chunk at \(grid.origin(of: tile))"
    }
}
