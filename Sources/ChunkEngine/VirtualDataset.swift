import H5Model
import Synchronization

/// A virtual dataset's reader, planned at its first read rather than when it is listed:
/// planning opens every source file (ChunkEngine+Virtual.swift), which `ls` should not pay.
/// Two first readers may both plan; the first plan stored wins (planning has no side
/// effects beyond opening files, which the source table caches).
final class VirtualDataset: Sendable {
    private let planned = Mutex<TiledReader?>(nil)
    private let plan: @Sendable () -> TiledReader

    /// `plan` never fails: what cannot be read natively is read through libhdf5.
    init(plan: @escaping @Sendable () -> TiledReader) { self.plan = plan }

    var reader: TiledReader {
        if let known = planned.withLock({ $0 }) { return known }
        let made = plan()
        return planned.withLock { slot in
            if let first = slot { return first }
            slot = made
            return made
        }
    }
}

/// How the tiles of a natively read virtual dataset are made (TiledReader+Virtual.swift).
struct VirtualLayout: Sendable {
    /// One mapping's source dataset, read through the engine like any dataset.
    struct Source: Sendable {
        var dataset: RawArrayDataset
        var shape: [Int]
        /// Its tiled reader when its chunks are decoded natively into full chunk-shaped
        /// tiles: a virtual tile that is exactly one of its chunks is that chunk, decoded
        /// straight into the virtual tile (no second copy, no second cache entry).
        var chunks: TiledReader?
    }

    var pieces: [VirtualPiece]
    /// By mapping index; nil where the source file or dataset is missing (fill value).
    var sources: [Source?]
    /// For each row of tiles along the first dimension, the pieces (indices) that reach
    /// into it: a tile looks only at its row's pieces, not at every piece.
    var rows: [[Int32]]

    /// Most clip tests reading every tile once may cost (each tile tests its row's pieces):
    /// past it the layout is libhdf5's (a few seconds of bookkeeping, not hours).
    static let scanLimit = 1 << 28

    /// Nil when reading every tile would cost more than `scanLimit` clip tests.
    init?(pieces: [VirtualPiece], sources: [Source?], grid: TileGrid) {
        var rows = [[Int32]](repeating: [], count: grid.tileCounts[0])
        let tilesPerRow = grid.tileCount / max(1, grid.tileCounts[0])
        var scans = 0
        for (index, piece) in pieces.enumerated() where sources[piece.mapping] != nil {
            let first = piece.destination[0] / grid.tileShape[0]
            let last = (piece.destination[0] + piece.count[0] - 1) / grid.tileShape[0]
            for row in first...last {
                rows[row].append(Int32(index))
                scans += tilesPerRow
                if scans > Self.scanLimit { return nil }
            }
        }
        self.pieces = pieces; self.sources = sources; self.rows = rows
    }
}
