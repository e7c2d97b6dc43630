import Glibc
import H5Model

/// Producing one tile: a chunk read with pread and decoded, a block read through libhdf5,
/// or the fill tile; and copying unfiltered chunks straight from the file.
extension TiledReader {
    /// Reads a chunk from the container with our own descriptor and decodes it into a
    /// full-size chunk buffer (edge chunks are stored full size). Tile and scratch buffers
    /// come from the engine's pools.
    func loadChunk(_ tile: [Int], location: ChunkLocation, filters: [FilterSpec]) throws(ChunkReadError) -> Tile {
        let chunkBytes = grid.bufferBytes(of: tile)
        // A malformed index must not make us allocate terabytes: no filter we decode
        // natively more than doubles a chunk.
        guard location.size <= UInt64(chunkBytes) * 2 + (1 << 20) else {
            throw ChunkReadError("\(chunkName(tile)): stored size \(location.size) is implausible for a chunk of \(chunkBytes) bytes")
        }
        let storedSize = Int(location.size)
        let applied = FilterSpec.applied(filters, mask: location.filterMask)
        let file = try context.files.file(at: reader.filePath)
        EngineCounters.bump(context.counters.chunkLoads)

        return try Tile.make(count: chunkBytes, pool: context.tilePool) { (output) throws(ChunkReadError) in
            if applied.isEmpty {
                // Stored as is: read straight into the tile.
                guard storedSize == chunkBytes else {
                    throw ChunkReadError("\(chunkName(tile)): unfiltered chunk holds \(storedSize) bytes, expected \(chunkBytes)")
                }
                try file.readFully(into: output, at: location.offset, what: chunkName(tile))
                return
            }
            let scratch = context.scratchPool.take(storedSize)
            defer { context.scratchPool.give(scratch) }
            let stored = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<storedSize])
            try file.readFully(into: stored, at: location.offset, what: chunkName(tile))
            do throws(ChunkCodecError) {
                try context.codec.decode(UnsafeRawBufferPointer(stored), filters: filters,
                                         filterMask: location.filterMask,
                                         elementSize: grid.elementSize, into: output)
            } catch {
                throw ChunkReadError("\(chunkName(tile)): cannot decode (\(storedSize) bytes at offset \(location.offset)): \(error.message)")
            }
        }
    }

    /// Reads a tile through libhdf5: the tile's region clipped to the dataset's shape.
    func loadBlock(_ tile: [Int]) throws(ChunkReadError) -> Tile {
        let origin = grid.origin(of: tile)
        let extent = grid.extent(of: tile)
        let start = isScalar ? [] : origin.map { UInt64($0) }
        let count = isScalar ? [] : extent.map { UInt64($0) }
        EngineCounters.bump(context.counters.blockReads)
        return try Tile.make(count: grid.bufferBytes(of: tile), pool: context.tilePool) { (buffer) throws(ChunkReadError) in
            do throws(StoreError) {
                try reader.readBlock(dataset: path, start: start, count: count, into: buffer)
            } catch {
                throw ChunkReadError("dataset \(path) block at \(origin) of \(extent): \(error.message)")
            }
        }
    }

    /// Where an unfiltered chunk is stored; nil when it is not allocated (fill value).
    func unfilteredLocation(_ tile: [Int]) throws(ChunkReadError) -> ChunkLocation? {
        guard case .allocated(let location) = try entry(of: grid.linearIndex(of: tile)) else { return nil }
        let chunkBytes = grid.bufferBytes(of: tile)
        guard location.size == UInt64(chunkBytes) else {
            throw ChunkReadError("\(chunkName(tile)): unfiltered chunk holds \(location.size) bytes, expected \(chunkBytes)")
        }
        EngineCounters.bump(context.counters.directChunkReads)
        return location
    }

    /// Copies `count` bytes at `offset` of an unfiltered chunk's buffer from the file.
    func copyUnfiltered(_ location: ChunkLocation, tile: [Int], from offset: Int, count: Int,
                        into out: UnsafeMutableRawPointer) throws(ChunkReadError) {
        let file = try context.files.file(at: reader.filePath)
        try file.readFully(into: UnsafeMutableRawBufferPointer(start: out, count: count),
                           at: location.offset + UInt64(offset), what: chunkName(tile))
    }

    /// One full chunk of the fill value (zeros when undefined), shared by every unallocated
    /// chunk of the dataset and kept out of the cache.
    func makeFillTile() -> Tile {
        fillTileSlot.withLock { slot in
            if let tile = slot { return tile }
            let size = grid.tileShape.reduce(grid.elementSize, *)
            let tile = Tile.make(count: size, pool: nil) { buffer in Self.repeating(fillElement, into: buffer) }
            slot = tile
            return tile
        }
    }

    /// Fills `buffer` with `element` repeated (zeros when nil or all zero).
    static func repeating(_ element: [UInt8]?, into buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        guard let element, !element.isEmpty, element.contains(where: { $0 != 0 }) else {
            memset(base, 0, buffer.count)
            return
        }
        let first = min(element.count, buffer.count)
        element.withUnsafeBytes { bytes in
            if let source = bytes.baseAddress { memcpy(base, source, first) }
        }
        // Doubling copies: the pattern repeats with the element's period.
        var filled = first
        while filled < buffer.count {
            let chunk = min(filled, buffer.count - filled)
            memcpy(base + filled, base, chunk)
            filled += chunk
        }
    }
}
