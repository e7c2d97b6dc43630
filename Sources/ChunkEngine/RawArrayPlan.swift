import H5Model

/// How one dataset's raw-array file is read, decided from its `DatasetInfo` alone.
struct RawArrayPlan {
    enum Access {
        case empty
        case direct(fileOffset: UInt64)
        /// `decodesChunks`: our own pread + codec; otherwise blocks through the reader.
        case tiles(TileGrid, decodesChunks: Bool)
        /// A virtual dataset: `blocks` is how libhdf5 would read it (ChunkEngine+Virtual.swift
        /// plans a native read from the sources where it can).
        case virtual(blocks: TileGrid)
    }

    var byteCount: UInt64
    var isScalar: Bool
    var access: Access

    /// Largest chunk the engine will allocate (HDF5 limits chunks to 4 GiB).
    static let maxTileBytes = 1 << 32

    init(path: H5Path, info: DatasetInfo, canDecode: ([FilterSpec]) -> Bool) throws(ChunkReadError) {
        // A top-level array type is stored whole per element, so the file is the same bytes
        // as the flattened array; element size is the full array element's.
        guard let elementSize = info.type.fixedSize, elementSize > 0 else {
            throw ChunkReadError("dataset \(path): type has no fixed-size raw form")
        }
        if let fill = info.fillValueBytes, fill.count != elementSize {
            throw ChunkReadError("dataset \(path): fill value has \(fill.count) bytes, element has \(elementSize)")
        }
        guard let dims = info.shape else {
            self.init(byteCount: 0, isScalar: false, access: .empty)
            return
        }
        let isScalar = dims.isEmpty
        let shape = try Self.ints(isScalar ? [1] : dims, path: path, what: "shape")
        let elementCount = try Self.product(shape, times: 1, path: path, what: "shape")
        let byteCount = try Self.product(shape, times: elementSize, path: path, what: "size")
        guard elementCount > 0 else {
            self.init(byteCount: 0, isScalar: isScalar, access: .empty)
            return
        }

        switch info.layout {
        case .contiguous(offset: let offset?):
            guard !offset.addingReportingOverflow(UInt64(byteCount)).overflow else {
                throw ChunkReadError("dataset \(path): contiguous storage at \(offset) overflows")
            }
            self.init(byteCount: UInt64(byteCount), isScalar: isScalar, access: .direct(fileOffset: offset))
        case .chunked(let chunkDims):
            guard !isScalar, chunkDims.count == dims.count, chunkDims.allSatisfy({ $0 > 0 }) else {
                throw ChunkReadError("dataset \(path): chunk shape \(chunkDims) does not fit shape \(dims)")
            }
            let chunkShape = try Self.ints(chunkDims, path: path, what: "chunk shape")
            let chunkBytes = try Self.product(chunkShape, times: elementSize, path: path, what: "chunk size")
            guard chunkBytes <= Self.maxTileBytes else {
                throw ChunkReadError("dataset \(path): chunk of \(chunkBytes) bytes exceeds HDF5's limit")
            }
            // Chunks we decode are whole (edge chunks are stored full size); blocks read
            // through libhdf5 are the chunk's region clipped to the shape.
            let decodes = canDecode(info.filters)
            let grid = TileGrid(shape: shape, tileShape: chunkShape, elementSize: elementSize, fullTileBuffers: decodes)
            self.init(byteCount: UInt64(byteCount), isScalar: isScalar, access: .tiles(grid, decodesChunks: decodes))
        case .compact, .contiguous(offset: nil), .virtual:
            // libhdf5 handles all of these (external files, unallocated = fill, virtual
            // sources); read them in blocks of whole trailing dimensions of about 1 MiB.
            let tileShape = TileGrid.blockTileShape(shape: shape, elementSize: elementSize)
            let grid = TileGrid(shape: shape, tileShape: tileShape, elementSize: elementSize, fullTileBuffers: false)
            let isVirtual = info.layout == .virtual && !isScalar
            self.init(byteCount: UInt64(byteCount), isScalar: isScalar,
                      access: isVirtual ? .virtual(blocks: grid) : .tiles(grid, decodesChunks: false))
        }
    }

    private init(byteCount: UInt64, isScalar: Bool, access: Access) {
        self.byteCount = byteCount; self.isScalar = isScalar; self.access = access
    }

    private static func ints(_ values: [UInt64], path: H5Path, what: String) throws(ChunkReadError) -> [Int] {
        guard values.allSatisfy({ $0 <= UInt64(Int.max) }) else {
            throw ChunkReadError("dataset \(path): \(what) \(values) is too large")
        }
        return values.map { Int($0) }
    }

    private static func product(_ values: [Int], times start: Int, path: H5Path, what: String) throws(ChunkReadError) -> Int {
        var total = start
        for value in values {
            let next = total.multipliedReportingOverflow(by: value)
            guard !next.overflow else { throw ChunkReadError("dataset \(path): \(what) overflows") }
            total = next.partialValue
        }
        return total
    }
}
