import H5Model

/// Reading a dataset's whole chunk index natively, once, and deciding whether to trust it.
extension TiledReader {
    /// Walks the chunk index in the file (NativeChunkIndex) and installs it if the reader
    /// agrees on a sample: the first and last allocated chunks (or, with none, the first
    /// tile being unallocated). Any failure leaves the index to be learnt from the reader.
    ///
    /// The reader may give addresses relative to the file's base (libhdf5 1.10 does, in a
    /// file with a user block), so an answer off by exactly the base also agrees; the
    /// native index holds absolute offsets, which is what pread needs.
    func readNativeIndex(into index: ChunkIndex) {
        do {
            let address = try reader.object(at: path).address
            let file = try context.files.file(at: reader.filePath)
            let (chunks, base) = try NativeChunkIndex.readWithBase(file: file, objectAddress: address, grid: grid,
                                                                   maxShape: maxShape)
            let sample = Array(Set([chunks.keys.min() ?? 0, chunks.keys.max() ?? 0])).sorted()
            let origins = sample.map { grid.origin(of: grid.tile(atLinear: $0)).map { UInt64($0) } }
            let answers = try reader.chunkLocations(dataset: path, chunks: origins)
            EngineCounters.bump(context.counters.locateCalls)
            let relative = sample.map { linear in
                chunks[linear].map { ChunkLocation(offset: $0.offset &- base, size: $0.size, filterMask: $0.filterMask) }
            }
            guard answers == sample.map({ chunks[$0] }) || answers == relative else {
                EngineCounters.bump(context.counters.nativeIndexRejected)
                return
            }
            index.install(complete: chunks, tileCount: grid.tileCount)
            EngineCounters.bump(context.counters.nativeIndexes)
        } catch {
            // Not readable natively (or no file behind the reader): learn from the reader.
            EngineCounters.bump(context.counters.nativeIndexRejected)
        }
    }
}
