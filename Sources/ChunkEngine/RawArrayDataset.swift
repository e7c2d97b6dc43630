import H5Model

/// The raw-array file of one dataset (DESIGN.md §1): its elements in C order, each as
/// stored. Cheap to make; nothing is read until the first `read`.
package final class RawArrayDataset: Sendable {
    enum Storage: Sendable {
        /// Null dataspace or no elements.
        case empty
        /// Contiguous storage at a known offset: pread at offset + byte offset, nothing to decode.
        case direct(fileOffset: UInt64)
        /// Everything else, tile by tile.
        case tiled(TiledReader)
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
        guard count > 0, offset < byteCount else { return [] }
        let length = Int(min(UInt64(count), byteCount - offset))
        // byteCount <= Int.max is checked when the dataset is made.
        let start = Int(offset)
        switch storage {
        case .empty:
            return []
        case .direct(let fileOffset):
            return try readDirect(fileOffset: fileOffset + offset, count: length)
        case .tiled(let tiled):
            return try tiled.read(offset: start, count: length)
        }
    }

    /// Read-ahead seam: loads the tiles under a byte range into the cache through the
    /// engine's scheduler (inline today). Failures are left for the read that needs them.
    package func prefetch(offset: UInt64, count: Int) {
        guard count > 0, offset < byteCount, case .tiled(let tiled) = storage else { return }
        tiled.prefetch(offset: Int(offset), count: Int(min(UInt64(count), byteCount - offset)))
    }

    private func readDirect(fileOffset: UInt64, count: Int) throws(ChunkReadError) -> [UInt8] {
        let file = try context.files.file(at: reader.filePath)
        var failure: ChunkReadError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(ChunkReadError) {
                try file.readFully(into: UnsafeMutableRawBufferPointer(buffer), at: fileOffset,
                                   what: "dataset \(path) (contiguous)")
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }
}
