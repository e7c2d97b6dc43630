import H5Model

/// The raw-array file of one dataset (DESIGN.md §1): its elements in C order, each as
/// stored. Cheap to make; nothing is read until the first `read`. Shared by every reader
/// of the dataset: sequential readers among them are recognised by their offsets
/// (ReadStreams) and read ahead.
package final class RawArrayDataset: Sendable {
    enum Storage: Sendable {
        /// Null dataspace or no elements.
        case empty
        /// Contiguous storage at a known offset: pread at offset + byte offset, nothing to decode.
        case direct(fileOffset: UInt64)
        /// Everything else, tile by tile.
        case tiled(TiledReader)
        /// A virtual dataset: tiled too, planned at the first read (VirtualDataset).
        case virtual(VirtualDataset)
    }

    package let byteCount: UInt64
    let path: H5Path
    let reader: any ContainerReader
    let storage: Storage
    let context: EngineContext

    init(byteCount: UInt64, path: H5Path, reader: any ContainerReader, storage: Storage, context: EngineContext) {
        self.byteCount = byteCount; self.path = path; self.reader = reader
        self.storage = storage; self.context = context
    }

    /// Bytes `offset ..< offset+count` of the file: short at the end, empty past it.
    package func read(offset: UInt64, count: Int) throws(ChunkReadError) -> [UInt8] {
        let length = clamp(offset: offset, count: count)
        guard length > 0 else { return [] }
        var failure: ChunkReadError?
        let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, initialized in
            do throws(ChunkReadError) {
                initialized = try read(offset: offset, count: length, into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    /// Copies bytes `offset ..< offset+count` of the file into `buffer` (at most
    /// `buffer.count` bytes) and returns how many: short at the end, 0 past it. Lets the
    /// FUSE layer fill its reply buffer without an intermediate array.
    package func read(offset: UInt64, count: Int, into buffer: UnsafeMutableRawBufferPointer) throws(ChunkReadError) -> Int {
        let length = clamp(offset: offset, count: min(count, buffer.count))
        guard length > 0, let base = buffer.baseAddress else { return 0 }
        // byteCount <= Int.max is checked when the dataset is made.
        switch storage {
        case .empty:
            return 0
        case .direct(let fileOffset):
            let file = try context.files.file(at: reader.filePath)
            try file.readFully(into: UnsafeMutableRawBufferPointer(start: base, count: length),
                               at: fileOffset + offset, what: "dataset \(path) (contiguous)")
        case .tiled(let tiled):
            try tiled.read(offset: Int(offset), count: length, into: base)
        case .virtual(let virtual):
            try virtual.reader.read(offset: Int(offset), count: length, into: base)
        }
        return length
    }

    /// Calls `body` with bytes `offset ..< offset+count` of the file (short at the end,
    /// empty past it) as pieces of the engine's own buffers, in order, valid only during
    /// the call: the FUSE layer replies with them without copying. nil (and `body` not
    /// called) when this dataset's reads cannot be served that way (contiguous, unfiltered
    /// or narrow chunks): then `read(offset:count:into:)`.
    package func withSegments<Result>(offset: UInt64, count: Int,
                                      _ body: ([UnsafeRawBufferPointer]) -> Result) throws(ChunkReadError) -> Result? {
        guard let tiled = tiledReader, tiled.servesSegments else { return nil }
        let length = clamp(offset: offset, count: count)
        guard length > 0 else { return body([]) }
        let segments = try tiled.segments(offset: Int(offset), count: length)
        // The segments hold their tiles until this function returns.
        return withExtendedLifetime(segments) {
            body(segments.map { UnsafeRawBufferPointer(rebasing: $0.tile.bytes[$0.range]) })
        }
    }

    /// Loads the tiles under a byte range into the cache through the engine's scheduler
    /// (on the workers, or right here with an inline scheduler), as read-ahead: bounded by
    /// the cache's read-ahead share. Failures are left for the read that needs the tiles.
    package func prefetch(offset: UInt64, count: Int) {
        let length = clamp(offset: offset, count: count)
        guard length > 0, let tiled = tiledReader else { return }
        tiled.prefetch(offset: Int(offset), count: length)
    }

    private var tiledReader: TiledReader? {
        switch storage {
        case .tiled(let tiled): return tiled
        case .virtual(let virtual): return virtual.reader
        case .empty, .direct: return nil
        }
    }

    /// The part of `count` bytes at `offset` that lies inside the file.
    private func clamp(offset: UInt64, count: Int) -> Int {
        guard count > 0, offset < byteCount else { return 0 }
        return Int(min(UInt64(count), byteCount - offset))
    }
}
