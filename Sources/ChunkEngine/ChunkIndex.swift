import H5Model
import Synchronization

/// Where the chunks of one chunked dataset live, kept for the engine's lifetime.
///
/// Built once, when first needed: the first read walks the dataset's whole chunk index
/// straight from the file (`NativeChunkIndex`, O(N)) and, once a sample agrees with the
/// reader, installs it complete. Where that is not possible (index types we do not read,
/// a reader with no file behind it), it is learnt lazily a block of the tile grid at a
/// time: the first read that touches a tile of an unknown block asks the reader, in one
/// call, for every chunk of that block (`blockTiles` consecutive tiles in C order of the
/// grid; a dataset with fewer chunks is one block). Those lookups are by coordinate, which
/// libhdf5 1.10 answers by walking its index: fine for small datasets, O(N²) overall for
/// big ones — hence the native walk. Either way, once known, reads make no reader call.
final class ChunkIndex: Sendable {
    enum Entry: Sendable, Hashable {
        case allocated(ChunkLocation)
        case unallocated
    }

    /// Tiles per block.
    static let blockTiles = 2048

    private struct State {
        var blocks: [Int: [Entry]] = [:]
        /// Every chunk is known: a missing block has no allocated chunk.
        var complete = false
    }
    private let state = Mutex(State())
    /// The one attempt at reading the whole index natively.
    let nativeAttempt = OnceGate()

    /// The entry of a tile (linear index), nil until its block is learnt.
    func entry(of linear: Int) -> Entry? {
        state.withLock { state in
            if let block = state.blocks[linear / Self.blockTiles] { return block[linear % Self.blockTiles] }
            return state.complete ? .unallocated : nil
        }
    }

    var isComplete: Bool { state.withLock { $0.complete } }

    /// Installs the whole index (allocated chunks by linear tile index).
    func install(complete chunks: [Int: ChunkLocation], tileCount: Int) {
        var blocks: [Int: [Entry]] = [:]
        for (linear, location) in chunks {
            let block = linear / Self.blockTiles
            if blocks[block] == nil {
                let count = min((block + 1) * Self.blockTiles, tileCount) - block * Self.blockTiles
                blocks[block] = [Entry](repeating: .unallocated, count: count)
            }
            blocks[block]?[linear % Self.blockTiles] = .allocated(location)
        }
        state.withLock { state in
            state.blocks = blocks
            state.complete = true
        }
    }

    /// Makes sure the entries of `tiles` (linear indices) are known, asking the reader once
    /// for all the blocks they fall in that are not known yet; returns whether it asked.
    /// The reader is called outside the lock (it takes libhdf5's gate); two readers racing
    /// may both ask, which is harmless.
    func learn(_ tiles: [Int], grid: TileGrid, reader: any ContainerReader, path: H5Path) throws(ChunkReadError) -> Bool {
        let wanted = Set(tiles.map { $0 / Self.blockTiles })
        let unknown = state.withLock { state in
            state.complete ? [] : wanted.filter { state.blocks[$0] == nil }.sorted()
        }
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
        state.withLock { state in
            if !state.complete { state.blocks.merge(learnt) { known, _ in known } }
        }
        return true
    }

    private static func describe(_ origins: [[UInt64]]) -> String {
        let shown = origins.prefix(4).map { "\($0)" }.joined(separator: ", ")
        return origins.count > 4 ? shown + " and \(origins.count - 4) more" : shown
    }
}
