/// One fetched tile: a decoded chunk or a block read through libhdf5, in C order.
///
/// Its bytes live in a raw buffer that goes back to the engine's tile pool when the last
/// holder (cache, in-flight latch, a read) lets go, so the next load reuses warm memory.
/// @unchecked Sendable: the buffer is filled once, in `make`, before the tile exists for
/// anyone else, and only read afterwards.
final class Tile: @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer
    private let pool: BufferPool?

    private init(storage: UnsafeMutableRawBufferPointer, pool: BufferPool?) {
        self.storage = storage
        self.pool = pool
    }

    deinit {
        if let pool {
            pool.give(storage)
        } else if let base = storage.baseAddress {
            BufferPool.release(base, count: storage.count)
        }
    }

    /// The tile's bytes; valid while the tile is alive.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(storage) }
    var count: Int { storage.count }

    /// A tile of `count` bytes written by `fill` into a buffer from `pool` (or freshly
    /// allocated when `pool` is nil). The buffer goes back to the pool if `fill` throws.
    static func make<E: Error>(count: Int, pool: BufferPool?,
                               fill: (UnsafeMutableRawBufferPointer) throws(E) -> Void) throws(E) -> Tile {
        let buffer = pool?.take(count) ?? BufferPool.allocate(count)
        let exact = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
        do {
            try fill(exact)
        } catch {
            if let pool {
                pool.give(buffer)
            } else if let base = buffer.baseAddress {
                BufferPool.release(base, count: buffer.count)
            }
            throw error
        }
        return Tile(storage: exact, pool: pool)
    }
}

/// Identity of a tile in the cache: the engine's id for (file, dataset, tiling) and the
/// tile's linear index in the tile grid (C order).
struct TileKey: Hashable, Sendable {
    var dataset: Int
    var tile: Int
}
