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
            if let block = state.blocks[linear / Self.blockTiles] {
                // A block learnt for a smaller grid (the dataset grew, `-o swmr`) ends early.
                let slot = linear % Self.blockTiles
                return slot < block.count ? block[slot] : nil
            }
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

    /// Forgets the entries of tiles `first...` (`-o swmr`: the edge a writer appends to), by
    /// whole blocks: the block holding `first` keeps its earlier entries and loses the rest.
    func forget(from first: Int) {
        state.withLock { state in
            state.complete = false
            for block in state.blocks.keys where block * Self.blockTiles + (state.blocks[block]?.count ?? 0) > first {
                let kept = max(0, first - block * Self.blockTiles)
                if kept == 0 { state.blocks[block] = nil } else { state.blocks[block]?.removeSubrange(kept...) }
            }
        }
    }

    /// Makes sure the entries of `tiles` (linear indices) are known, asking the reader once
    /// for the unknown part of every block they fall in; returns whether it asked. A block
    /// partly known (it was learnt for a smaller grid, or its tail was forgotten: `-o swmr`)
    /// is completed, not learnt again, so following a growing dataset asks only for the
    /// new chunks. The reader is called outside the lock (it takes libhdf5's gate); two
    /// readers racing may both ask, which is harmless.
    func learn(_ tiles: [Int], grid: TileGrid, reader: any ContainerReader, path: H5Path) throws(ChunkReadError) -> Bool {
        let wanted = Set(tiles.map { $0 / Self.blockTiles })
        func expected(_ block: Int) -> Int { min((block + 1) * Self.blockTiles, grid.tileCount) - block * Self.blockTiles }
        // (block, entries known already), for the blocks with entries missing.
        let unknown: [(block: Int, known: Int)] = state.withLock { state in
            guard !state.complete else { return [] }
            return wanted.sorted().compactMap { block in
                let known = state.blocks[block]?.count ?? 0
                return known < expected(block) ? (block, known) : nil
            }
        }
        guard !unknown.isEmpty else { return false }
        var origins: [[UInt64]] = []
        for (block, known) in unknown {
            for linear in (block * Self.blockTiles + known) ..< (block * Self.blockTiles + expected(block)) {
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
        state.withLock { state in
            guard !state.complete else { return }
            var next = 0
            for (block, known) in unknown {
                let count = expected(block) - known
                let learnt = locations[next ..< next + count].map { $0.map(Entry.allocated) ?? .unallocated }
                next += count
                // Racing learners agree on what they both know: add only what is still missing.
                // A block shorter than we started from was forgotten meanwhile: leave it.
                let have = state.blocks[block]?.count ?? 0
                guard have >= known, have < known + count else { continue }
                state.blocks[block, default: []].append(contentsOf: learnt.dropFirst(have - known))
            }
        }
        return true
    }

    private static func describe(_ origins: [[UInt64]]) -> String {
        let shown = origins.prefix(4).map { "\($0)" }.joined(separator: ", ")
        return origins.count > 4 ? shown + " and \(origins.count - 4) more" : shown
    }
}
