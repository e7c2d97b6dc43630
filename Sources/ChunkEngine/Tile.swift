/// One fetched tile: a decoded chunk or a block read through libhdf5, in C order.
/// Immutable once made, so readers share it without locks.
final class Tile: Sendable {
    let bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }
}

/// Identity of a tile in the cache: the engine's id for (file, dataset, tiling) and the
/// tile's coordinates in the tile grid.
struct TileKey: Hashable, Sendable {
    var dataset: Int
    var tile: [Int]
}
