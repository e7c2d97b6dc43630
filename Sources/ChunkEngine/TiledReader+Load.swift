import H5Model

/// Producing one tile: a chunk read with pread and decoded, a block read through libhdf5,
/// or the fill tile.
extension TiledReader {
    /// Reads a chunk from the container with our own descriptor and decodes it into a
    /// full-size chunk buffer (edge chunks are stored full size).
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

        var failure: ChunkReadError?
        let bytes = [UInt8](unsafeUninitializedCapacity: chunkBytes) { buffer, initialized in
            initialized = 0
            let output = UnsafeMutableRawBufferPointer(buffer)
            do throws(ChunkReadError) {
                if applied.isEmpty {
                    // Stored as is: read straight into the tile.
                    guard storedSize == chunkBytes else {
                        throw ChunkReadError("\(chunkName(tile)): unfiltered chunk holds \(storedSize) bytes, expected \(chunkBytes)")
                    }
                    try file.readFully(into: output, at: location.offset, what: chunkName(tile))
                } else {
                    let stored = UnsafeMutableRawBufferPointer.allocate(byteCount: storedSize, alignment: 16)
                    defer { stored.deallocate() }
                    try file.readFully(into: stored, at: location.offset, what: chunkName(tile))
                    do throws(ChunkCodecError) {
                        try context.codec.decode(UnsafeRawBufferPointer(stored), filters: filters,
                                                 filterMask: location.filterMask,
                                                 elementSize: grid.elementSize, into: output)
                    } catch {
                        throw ChunkReadError("\(chunkName(tile)): cannot decode (\(storedSize) bytes at offset \(location.offset)): \(error.message)")
                    }
                }
                initialized = chunkBytes
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return Tile(bytes: bytes)
    }

    /// Reads a tile through libhdf5: the tile's region clipped to the dataset's shape.
    func loadBlock(_ tile: [Int]) throws(ChunkReadError) -> Tile {
        let origin = grid.origin(of: tile)
        let extent = grid.extent(of: tile)
        let start = isScalar ? [] : origin.map { UInt64($0) }
        let count = isScalar ? [] : extent.map { UInt64($0) }
        EngineCounters.bump(context.counters.blockReads)

        var failure: ChunkReadError?
        let bytes = [UInt8](unsafeUninitializedCapacity: grid.bufferBytes(of: tile)) { buffer, initialized in
            do throws(StoreError) {
                try reader.readBlock(dataset: path, start: start, count: count, into: UnsafeMutableRawBufferPointer(buffer))
                initialized = buffer.count
            } catch {
                failure = ChunkReadError("dataset \(path) block at \(origin) of \(extent): \(error.message)")
                initialized = 0
            }
        }
        if let failure { throw failure }
        return Tile(bytes: bytes)
    }

    /// One full chunk of the fill value (zeros when undefined), shared by every unallocated
    /// chunk of the dataset and kept out of the cache.
    func makeFillTile() -> Tile {
        fillTileSlot.withLock { slot in
            if let tile = slot { return tile }
            let size = grid.tileShape.reduce(grid.elementSize, *)
            let tile = Tile(bytes: Self.repeating(fillElement, toSize: size))
            slot = tile
            return tile
        }
    }

    static func repeating(_ element: [UInt8]?, toSize size: Int) -> [UInt8] {
        guard let element, !element.isEmpty, element.contains(where: { $0 != 0 }) else {
            return [UInt8](repeating: 0, count: size)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        bytes.append(contentsOf: element.prefix(size))
        // Doubling copies: the pattern repeats with the element's period.
        while bytes.count < size {
            bytes.append(contentsOf: bytes.prefix(size - bytes.count))
        }
        return bytes
    }
}
