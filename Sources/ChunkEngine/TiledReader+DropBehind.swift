/// Drop-behind: tiles a sequential stream has read whole leave the cache at once.
///
/// Only for an engine made with `dropsStreamedTiles` (a read-only mount, where the file is
/// opened with `keep_cache` and the kernel's page cache keeps every byte a reader was
/// sent, so a second read of those bytes never reaches the engine). Without it, a stream
/// over a dataset smaller than the budget fills the cache with tiles nobody reads again,
/// each decoded into freshly allocated memory: first touch of fresh pages cost ~20% of the
/// daemon's CPU on the seed stack (512 KiB chunks). Dropped tiles hand their buffers to the
/// tile pool and the next loads reuse them, warm in the CPU caches.
///
/// A tile is dropped only when the stream read all of it: it starts at or after the
/// stream's first byte and ends 8 read sizes (8 MiB for 1 MiB reads) below the current read
/// (requests still in flight, served out of order, find their tile). Read-ahead no
/// reader has touched stays.
extension TiledReader {
    func dropBehind(_ passed: Range<Int>, streamStart: Int) {
        let elementSize = grid.elementSize
        let elements = (passed.lowerBound / elementSize) ..< ((passed.upperBound + elementSize - 1) / elementSize)
        guard !elements.isEmpty else { return }
        var keys: [TileKey] = []
        for tile in grid.tiles(touching: elements) {
            let span = grid.byteSpan(of: tile)
            if span.lowerBound >= streamStart && span.upperBound <= passed.upperBound {
                keys.append(TileKey(dataset: datasetID, tile: grid.linearIndex(of: tile)))
            }
        }
        guard !keys.isEmpty else { return }
        let dropped = context.cache.dropRead(keys)
        context.counters.droppedBehind.wrappingAdd(dropped, ordering: .relaxed)
    }
}
