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
}
