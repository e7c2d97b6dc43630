import H5Model

/// Making one tile of a virtual dataset read natively: from its sources' chunks, decoded
/// by the engine (on the worker that runs the load, so tiles decode in parallel and read
/// ahead like a plain chunked dataset's), with the fill value where no source is.
extension TiledReader {
    func loadVirtual(_ tile: [Int], layout: VirtualLayout) throws(ChunkReadError) -> Tile {
        let origin = grid.origin(of: tile)
        let extent = grid.extent(of: tile)
        // Only the pieces of this tile's row (missing sources have none: fill value).
        var pieces: [VirtualPiece] = []
        for index in layout.rows[tile[0]] {
            if let clipped = VirtualMapping.clip(layout.pieces[Int(index)], toBox: origin, extent: extent) {
                pieces.append(clipped)
            }
        }
        EngineCounters.bump(context.counters.virtualTiles)
        if pieces.count == 1, let whole = try wholeChunk(pieces[0], origin: origin, extent: extent, layout: layout) {
            return whole
        }
        let bufferShape = grid.fullTileBuffers ? grid.tileShape : extent
        let coversTile = pieces.count == 1 && pieces[0].count == extent && layout.sources[pieces[0].mapping] != nil
        return try Tile.make(count: grid.bufferBytes(of: tile), pool: context.tilePool) { (buffer) throws(ChunkReadError) in
            if !coversTile { Self.repeating(fillElement, into: buffer) }
            for piece in pieces {
                guard let source = layout.sources[piece.mapping] else { continue }
                try copy(piece, from: source, origin: origin, bufferShape: bufferShape, into: buffer)
            }
        }
    }

    /// The source chunk itself when the virtual tile is exactly one natively decoded chunk
    /// of the source (same tile shape, the piece covers the tile, chunk-aligned in the source).
    private func wholeChunk(_ piece: VirtualPiece, origin: [Int], extent: [Int],
                            layout: VirtualLayout) throws(ChunkReadError) -> Tile? {
        guard grid.fullTileBuffers, piece.destination == origin, piece.count == extent,
              let chunks = layout.sources[piece.mapping]?.chunks,
              chunks.grid.tileShape == grid.tileShape, chunks.grid.elementSize == grid.elementSize else { return nil }
        var chunkTile: [Int] = []
        for d in 0..<grid.rank {
            guard piece.source[d] % grid.tileShape[d] == 0 else { return nil }
            chunkTile.append(piece.source[d] / grid.tileShape[d])
        }
        EngineCounters.bump(context.counters.virtualWholeChunks)
        return try chunks.load(chunkTile)
    }

    /// Copies one piece from its source dataset into a tile buffer of shape `bufferShape`
    /// whose first element is virtual element `origin`: one source read per run of
    /// elements contiguous in both (rows, or whole trailing dimensions where both are full).
    private func copy(_ piece: VirtualPiece, from source: VirtualLayout.Source, origin: [Int], bufferShape: [Int],
                      into buffer: UnsafeMutableRawBufferPointer) throws(ChunkReadError) {
        let rank = piece.count.count
        guard rank > 0, let base = buffer.baseAddress else { return }
        let elementSize = grid.elementSize
        var sourceStrides = [Int](repeating: 1, count: rank), bufferStrides = sourceStrides
        for d in stride(from: rank - 2, through: 0, by: -1) {
            sourceStrides[d] = sourceStrides[d + 1] * source.shape[d + 1]
            bufferStrides[d] = bufferStrides[d + 1] * bufferShape[d + 1]
        }
        // Dimensions inner..<rank form one run when those after `inner` are full in both.
        var inner = rank - 1
        var run = piece.count[inner]
        while inner > 0 && piece.count[inner] == source.shape[inner] && piece.count[inner] == bufferShape[inner] {
            inner -= 1
            run *= piece.count[inner]
        }
        var sourceStart = 0, bufferStart = 0
        for d in 0..<rank {
            sourceStart += piece.source[d] * sourceStrides[d]
            bufferStart += (piece.destination[d] - origin[d]) * bufferStrides[d]
        }
        let runBytes = run * elementSize
        var position = [Int](repeating: 0, count: inner)
        while true {
            var sourceElement = sourceStart, bufferElement = bufferStart
            for d in 0..<inner {
                sourceElement += position[d] * sourceStrides[d]
                bufferElement += position[d] * bufferStrides[d]
            }
            guard (bufferElement + run) * elementSize <= buffer.count else {
                throw ChunkReadError("dataset \(path): virtual piece outside its tile (engine bug)")
            }
            let target = UnsafeMutableRawBufferPointer(start: base + bufferElement * elementSize, count: runBytes)
            let read = try source.dataset.read(offset: UInt64(sourceElement * elementSize), count: runBytes, into: target)
            guard read == runBytes else {
                throw ChunkReadError("dataset \(path): source \(source.dataset.path) ended early at element \(sourceElement)")
            }
            // Next row: the outer dimensions in C order.
            var d = inner - 1
            while d >= 0 {
                position[d] += 1
                if position[d] < piece.count[d] { break }
                position[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }
}
