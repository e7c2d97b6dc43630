import H5Model

/// The bytes a spool starts from when a file is opened for writing without `O_TRUNC`:
/// the file's current content, copied into the spool lazily, block by block, only where
/// a write lands in the middle of a block (copy-on-write) or when the spool is sealed.
package protocol SpoolSeed: Sendable {
    var size: UInt64 { get }
    /// Copy granularity in bytes: ideally the dataset's chunk size, so each copy decodes one chunk.
    var blockSize: Int { get }
    /// Fills `buffer` with the bytes at `offset`; `offset + buffer.count <= size`.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(StagingError)
}

/// Any readable byte range: what the packer reads (a sealed spool, or a plain file in tests).
package protocol ByteSource: Sendable {
    var size: UInt64 { get }
    /// Reads up to `buffer.count` bytes at `offset`; fewer only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(StagingError) -> Int
}

/// A byte dataset of a container as a seed, read through `ContainerReader.readBlock`
/// (libhdf5, any filter). The filesystem layer may pass a faster seed of its own (the chunk
/// engine) instead; this one needs nothing but the reader.
package struct DatasetSeed: SpoolSeed {
    package let reader: any ContainerReader
    package let path: H5Path
    package let size: UInt64
    package let blockSize: Int
    /// A scalar (rank 0) one-byte dataset is read with an empty start and count.
    private let isScalar: Bool

    /// EINVAL unless `path` is a byte dataset (DESIGN.md §1): one-byte integers or opaque bytes,
    /// rank 0 or 1.
    package init(reader: any ContainerReader, path: H5Path) throws(StagingError) {
        let info = try store { () throws(StoreError) in try reader.dataset(at: path) }
        let isBytes: Bool
        switch info.type {
        case .integer(size: 1, _, _), .opaque(size: 1, _): isBytes = true
        default: isBytes = false
        }
        guard isBytes, let shape = info.shape, shape.count <= 1 else {
            throw StagingError(StoreError(.invalidArgument, "\(path): not a byte dataset"))
        }
        self.reader = reader
        self.path = path
        isScalar = shape.isEmpty
        size = shape.first ?? 1
        if case .chunked(let chunk) = info.layout, let first = chunk.first, first > 0, first <= 64 << 20 {
            blockSize = Int(first)
        } else {
            blockSize = 1 << 20
        }
    }

    package func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(StagingError) {
        guard !buffer.isEmpty else { return }
        let start = isScalar ? [] : [offset]
        let count = isScalar ? [] : [UInt64(buffer.count)]
        try store { () throws(StoreError) in
            try reader.readBlock(dataset: path, start: start, count: count, into: buffer)
        }
    }
}
