import H5Model
import Synchronization

/// Where the chunks of one chunked dataset live, kept for the engine's lifetime.
///
/// Learnt lazily, a block of the tile grid at a time: the first read that touches a tile
/// of an unknown block asks the reader, in one call, for every chunk of that block
/// (`blockTiles` consecutive tiles in C order of the grid; a dataset with fewer chunks is
/// one block, so its whole index is built by its first read). Each lookup is by chunk
/// coordinate (`H5Dget_chunk_info_by_coord`), never a walk of the chunk list (O(N²) in
/// libhdf5 1.10). After that, reads of the block make no reader call at all, and
/// read-ahead learns the blocks it is about to need before the reader gets there.
final class ChunkIndex: Sendable {
    enum Entry: Sendable, Hashable {
        case allocated(ChunkLocation)
        case unallocated
    }

    /// Tiles per block. A block is learnt in one reader call; with libhdf5 a lookup costs
    /// a few microseconds, so a block holds the library's lock for a few milliseconds.
    static let blockTiles = 2048

    private let blocks = Mutex<[Int: [Entry]]>([:])

    /// The entry of a tile (linear index), nil until its block is learnt.
    func entry(of linear: Int) -> Entry? {
        blocks.withLock { blocks in blocks[linear / Self.blockTiles]?[linear % Self.blockTiles] }
    }

    /// Makes sure the entries of `tiles` (linear indices) are known, asking the reader once
    /// for all the blocks they fall in that are not known yet; returns whether it asked.
    /// The reader is called outside the lock (it takes libhdf5's gate); two readers racing
    /// may both ask, which is harmless.
    func learn(_ tiles: [Int], grid: TileGrid, reader: any ContainerReader, path: H5Path) throws(ChunkReadError) -> Bool {
        let wanted = Set(tiles.map { $0 / Self.blockTiles })
        let unknown = blocks.withLock { blocks in wanted.filter { blocks[$0] == nil }.sorted() }
        guard !unknown.isEmpty else { return false }
        var origins: [[UInt64]] = []
        for block in unknown {
            for linear in (block * Self.blockTiles) ..< min((block + 1) * Self.blockTiles, grid.tileCount) {
                origins.append(grid.origin(of: grid.tile(atLinear: linear)).map { UInt64($0) })
            }
        }
        let locations: [ChunkLocation?]
        do {
            locations = try reader.chunkLocations(dataset: path, chunks: origins)
        } catch {
            throw ChunkReadError("dataset \(path): cannot locate chunks at \(Self.describe(origins)): \(error.message)")
        }
        guard locations.count == origins.count else {
            throw ChunkReadError("dataset \(path): asked for \(origins.count) chunk locations, got \(locations.count)")
        }
        var learnt: [Int: [Entry]] = [:]
        var next = 0
        for block in unknown {
            let count = min((block + 1) * Self.blockTiles, grid.tileCount) - block * Self.blockTiles
            learnt[block] = locations[next ..< next + count].map { $0.map(Entry.allocated) ?? .unallocated }
            next += count
        }
        blocks.withLock { blocks in blocks.merge(learnt) { known, _ in known } }
        return true
    }

    private static func describe(_ origins: [[UInt64]]) -> String {
        let shown = origins.prefix(4).map { "\($0)" }.joined(separator: ", ")
        return origins.count > 4 ? shown + " and \(origins.count - 4) more" : shown
    }
}
