import Glibc
import H5Model

/// Reads the whole chunk index of a chunked dataset straight from the file, in one walk.
///
/// Why: libhdf5 1.10 has no chunk iterator, and both `H5Dget_chunk_info` and
/// `H5Dget_chunk_info_by_coord` walk the index from its start on every call, so learning
/// N chunks through them costs O(N²) (measured: 2.2 ms per lookup at 100 000 chunks,
/// four minutes for the dataset). Walking the index ourselves is O(N).
///
/// Understood (HDF5 file format specification, "Data Layout Message", "Version 1 B-trees",
/// "Fixed Array Index"): superblocks 0-3; object headers 1 and 2 with continuation blocks;
/// layout message 3 (a version 1 B-tree of chunks — what h5py and libhdf5 write by
/// default) and 4 with a single chunk or a fixed array (paged or not). Anything else (layout
/// 1/2, implicit, extensible array, version 2 B-tree, odd sizes) throws, and the engine
/// asks the reader chunk by chunk instead. Every read is bounds-checked and the walk is
/// bounded, so a hostile file costs at most a failed attempt; the result is also checked
/// against the reader before it is trusted (ChunkIndex).
struct NativeChunkIndex {
    let file: OpenFile
    let grid: TileGrid
    /// The dataset's maximum dims when all are finite (fixed arrays are laid out over them).
    let maxShape: [Int]?
    private var offsetSize = 8
    private var lengthSize = 8
    private var base: UInt64 = 0
    private var fileSize: UInt64 = 0

    /// Allocated chunks by linear tile index (absolute file offsets), and the file's base
    /// address (non-zero with a user block).
    static func readWithBase(file: OpenFile, objectAddress: UInt64, grid: TileGrid,
                             maxShape: [Int]? = nil) throws(IndexFormatError) -> (chunks: [Int: ChunkLocation], base: UInt64) {
        var index = NativeChunkIndex(file: file, grid: grid, maxShape: maxShape)
        try index.readSuperblock()
        let layout = try index.layoutMessage(objectHeader: objectAddress)
        return (try index.chunks(layout: layout), index.base)
    }

    /// Allocated chunks by linear tile index.
    static func read(file: OpenFile, objectAddress: UInt64, grid: TileGrid,
                     maxShape: [Int]? = nil) throws(IndexFormatError) -> [Int: ChunkLocation] {
        var index = NativeChunkIndex(file: file, grid: grid, maxShape: maxShape)
        try index.readSuperblock()
        let layout = try index.layoutMessage(objectHeader: objectAddress)
        return try index.chunks(layout: layout)
    }

    private init(file: OpenFile, grid: TileGrid, maxShape: [Int]?) {
        self.file = file
        self.grid = grid
        self.maxShape = maxShape
    }

    // MARK: - Superblock and object header

    private mutating func readSuperblock() throws(IndexFormatError) {
        fileSize = try file.size()
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        var at: UInt64 = 0
        while at + 64 <= fileSize {
            let head = try file.bytes(at: at, count: 64)
            if Array(head[0..<8]) == signature {
                var cursor = ByteCursor(head, at: 8)
                let version = try cursor.byte()
                switch version {
                case 0, 1:
                    try cursor.skip(4)
                    offsetSize = Int(try cursor.byte())
                    lengthSize = Int(try cursor.byte())
                    try cursor.skip(1 + 4 + 4 + (version == 1 ? 4 : 0))
                case 2, 3:
                    offsetSize = Int(try cursor.byte())
                    lengthSize = Int(try cursor.byte())
                    try cursor.skip(1)
                default:
                    throw IndexFormatError("superblock version \(version)")
                }
                guard [2, 4, 8].contains(offsetSize), [2, 4, 8].contains(lengthSize) else {
                    throw IndexFormatError("offsets of \(offsetSize) bytes, lengths of \(lengthSize)")
                }
                base = try cursor.uint(offsetSize)
                return
            }
            at = at == 0 ? 512 : at * 2
        }
        throw IndexFormatError("no superblock")
    }

    /// A file address (relative to the base) as an absolute offset; nil when undefined.
    private func absolute(_ address: UInt64) throws(IndexFormatError) -> UInt64? {
        let undefined: UInt64 = offsetSize == 8 ? .max : (1 << UInt64(offsetSize * 8)) - 1
        if address == undefined { return nil }
        let (sum, overflow) = address.addingReportingOverflow(base)
        guard !overflow, sum < fileSize else { throw IndexFormatError("address \(address) outside the file") }
        return sum
    }

    private func address(_ raw: UInt64) throws(IndexFormatError) -> UInt64 {
        guard let at = try absolute(raw) else { throw IndexFormatError("undefined address") }
        return at
    }

    /// The raw bytes of the object's data layout message (type 8).
    private func layoutMessage(objectHeader: UInt64) throws(IndexFormatError) -> [UInt8] {
        let start = try address(objectHeader)
        let first = try file.bytes(at: start, count: Int(min(16, fileSize - start)))
        var blocks: [(at: UInt64, length: Int, version: Int)] = []
        var version = 1
        // Version 2: each message carries a creation order when the header tracks it.
        var creationOrder = false
        var cursor = ByteCursor(first)
        if first.starts(with: Array("OHDR".utf8)) {
            version = 2
            let prefix = try file.bytes(at: start, count: Int(min(48, fileSize - start)))
            cursor = ByteCursor(prefix, at: 4)
            guard try cursor.byte() == 2 else { throw IndexFormatError("object header version") }
            let flags = try cursor.byte()
            creationOrder = flags & 0x04 != 0
            if flags & 0x20 != 0 { try cursor.skip(16) }
            if flags & 0x10 != 0 { try cursor.skip(4) }
            let length = try cursor.int(1 << Int(flags & 3))
            blocks.append((start + UInt64(cursor.position), length, 2))
        } else {
            guard try cursor.byte() == 1 else { throw IndexFormatError("object header version") }
            try cursor.skip(1 + 2 + 4)
            let length = try cursor.int(4)
            blocks.append((start + 16, length, 1))
        }
        var visited = 0
        while !blocks.isEmpty {
            let block = blocks.removeFirst()
            visited += 1
            guard visited <= 1024, block.length <= 1 << 24 else { throw IndexFormatError("object header too large") }
            var messages = ByteCursor(try file.bytes(at: block.at, count: block.length))
            while true {
                let headerSize = version == 2 ? (creationOrder ? 6 : 4) : 8
                guard messages.remaining >= headerSize else { break }
                let type: Int
                let size: Int
                if version == 2 {
                    type = Int(try messages.byte())
                    size = try messages.int(2)
                    try messages.skip(creationOrder ? 3 : 1)   // flags, creation order
                } else {
                    type = try messages.int(2)
                    size = try messages.int(2)
                    try messages.skip(4)
                }
                guard size <= messages.remaining else { break }
                let body = Array(messages.bytes[messages.position ..< messages.position + size])
                try messages.skip(size)
                switch type {
                case 8:
                    return body
                case 0x10:
                    var continuation = ByteCursor(body)
                    let at = try address(continuation.uint(offsetSize))
                    let length = try continuation.int(lengthSize)
                    if version == 2 {
                        // "OCHK", messages, checksum.
                        guard length >= 8, try file.bytes(at: at, count: 4) == Array("OCHK".utf8) else {
                            throw IndexFormatError("bad continuation block")
                        }
                        blocks.append((at + 4, length - 8, 2))
                    } else {
                        blocks.append((at, length, 1))
                    }
                default:
                    break
                }
            }
        }
        throw IndexFormatError("no layout message")
    }

    // MARK: - Layout message and indexes

    private func chunks(layout: [UInt8]) throws(IndexFormatError) -> [Int: ChunkLocation] {
        var cursor = ByteCursor(layout)
        let version = try cursor.byte()
        guard try cursor.byte() == 2 else { throw IndexFormatError("not a chunked layout") }
        switch version {
        case 3:
            let dimensionality = Int(try cursor.byte())
            let root = try cursor.uint(offsetSize)
            let dims = try (0..<dimensionality).map { _ throws(IndexFormatError) in try cursor.int(4) }
            try checkChunkDims(dims)
            guard let node = try absolute(root) else { return [:] }
            return try bTreeChunks(root: node, dimensionality: dimensionality)
        case 4:
            let flags = try cursor.byte()
            let dimensionality = Int(try cursor.byte())
            let encoded = Int(try cursor.byte())
            guard (1...8).contains(encoded) else { throw IndexFormatError("dimension size of \(encoded) bytes") }
            let dims = try (0..<dimensionality).map { _ throws(IndexFormatError) in try cursor.int(encoded) }
            try checkChunkDims(dims)
            switch try cursor.byte() {
            case 1:
                // Single chunk: the whole dataset is one chunk.
                var size = UInt64(grid.bufferBytes(of: [Int](repeating: 0, count: grid.rank)))
                var mask: UInt32 = 0
                if flags & 0x02 != 0 {
                    size = try cursor.uint(lengthSize)
                    mask = UInt32(try cursor.uint(4))
                }
                guard grid.tileCount == 1, let at = try absolute(cursor.uint(offsetSize)) else { return [:] }
                return [0: ChunkLocation(offset: at, size: size, filterMask: mask)]
            case 3:
                try cursor.skip(1)   // page bits, repeated in the header
                guard let header = try absolute(cursor.uint(offsetSize)) else { return [:] }
                return try fixedArrayChunks(header: header)
            case let type:
                throw IndexFormatError("chunk index type \(type)")
            }
        default:
            throw IndexFormatError("layout message version \(version)")
        }
    }

    /// The layout's chunk dims must be the grid's (plus the element size for version 3).
    private func checkChunkDims(_ dims: [Int]) throws(IndexFormatError) {
        guard dims.count == grid.rank + 1, Array(dims.prefix(grid.rank)) == grid.tileShape else {
            throw IndexFormatError("chunk dims \(dims) differ from \(grid.tileShape)")
        }
    }

    /// Leaves of a version 1 B-tree of raw-data chunks (node type 1): each key holds the
    /// chunk's stored size, filter mask and element offsets; each leaf child its address.
    private func bTreeChunks(root: UInt64, dimensionality: Int) throws(IndexFormatError) -> [Int: ChunkLocation] {
        let keySize = 8 + 8 * dimensionality
        var chunks: [Int: ChunkLocation] = [:]
        var pending: [(at: UInt64, level: Int?)] = [(root, nil)]
        var seen = Set<UInt64>()
        let maxNodes = 2 * grid.tileCount + 64
        while let (at, expectedLevel) = pending.popLast().map({ ($0.at, $0.level) }) {
            guard seen.insert(at).inserted, seen.count <= maxNodes else { throw IndexFormatError("B-tree cycle or too many nodes") }
            var head = ByteCursor(try file.bytes(at: at, count: 8 + 2 * offsetSize))
            try head.expect("TREE")
            guard try head.byte() == 1 else { throw IndexFormatError("not a chunk B-tree node") }
            let level = Int(try head.byte())
            guard expectedLevel == nil || expectedLevel == level, level < 64 else { throw IndexFormatError("B-tree levels") }
            let entries = try head.int(2)
            let body = try file.bytes(at: at + UInt64(head.bytes.count), count: entries * (keySize + offsetSize) + keySize)
            var cursor = ByteCursor(body)
            for _ in 0..<entries {
                let size = try cursor.uint(4)
                let mask = UInt32(try cursor.uint(4))
                let offsets = try (0..<dimensionality).map { _ throws(IndexFormatError) in try cursor.uint(8) }
                let child = try address(cursor.uint(offsetSize))
                if level > 0 {
                    pending.append((child, level - 1))
                    continue
                }
                var tile = [Int](repeating: 0, count: grid.rank)
                var inside = true
                for d in 0..<grid.rank {
                    guard offsets[d] % UInt64(grid.tileShape[d]) == 0 else { throw IndexFormatError("chunk offset off the grid") }
                    let coordinate = offsets[d] / UInt64(grid.tileShape[d])
                    if coordinate >= UInt64(grid.tileCounts[d]) { inside = false; break }
                    tile[d] = Int(coordinate)
                }
                // Chunks beyond the current extent (after a shrink) are not part of the file.
                if inside { chunks[grid.linearIndex(of: tile)] = ChunkLocation(offset: child, size: size, filterMask: mask) }
            }
        }
        return chunks
    }

    /// Elements of a fixed array (FAHD header, FADB data block, pages when paged), in C
    /// order of the chunk grid.
    private func fixedArrayChunks(header at: UInt64) throws(IndexFormatError) -> [Int: ChunkLocation] {
        var header = ByteCursor(try file.bytes(at: at, count: 8 + lengthSize + offsetSize + 4))
        try header.expect("FAHD")
        guard try header.byte() == 0 else { throw IndexFormatError("fixed array version") }
        let client = try header.byte()
        let entrySize = Int(try header.byte())
        let pageBits = Int(try header.byte())
        let count = try header.int(lengthSize)
        guard let block = try absolute(header.uint(offsetSize)) else { return [:] }
        // The array is laid out in C order over the chunk grid of the maximum dims.
        let maxDims = maxShape ?? grid.shape
        guard maxDims.count == grid.rank, zip(maxDims, grid.shape).allSatisfy({ $0 >= $1 }) else {
            throw IndexFormatError("maximum dims \(maxDims)")
        }
        let maxCounts = zip(maxDims, grid.tileShape).map { ($0 + $1 - 1) / $1 }
        guard count == maxCounts.reduce(1, *), pageBits < 32 else { throw IndexFormatError("fixed array of \(count) entries") }
        let sameGrid = maxCounts == grid.tileCounts
        /// Our linear index of the array's entry `entry`; nil beyond the current extent.
        func tileIndex(_ entry: Int) -> Int? {
            if sameGrid { return entry }
            var rest = entry
            var tile = [Int](repeating: 0, count: grid.rank)
            for d in stride(from: grid.rank - 1, through: 0, by: -1) {
                tile[d] = rest % maxCounts[d]
                rest /= maxCounts[d]
                if tile[d] >= grid.tileCounts[d] { return nil }
            }
            return grid.linearIndex(of: tile)
        }
        let filtered = client == 1
        let sizeBytes = entrySize - offsetSize - 4
        guard client <= 1, filtered ? (1...8).contains(sizeBytes) : entrySize == offsetSize else {
            throw IndexFormatError("fixed array entries of \(entrySize) bytes")
        }
        let pageEntries = 1 << pageBits
        let paged = count > pageEntries
        let pages = paged ? (count + pageEntries - 1) / pageEntries : 1
        let bitmapBytes = paged ? (pages + 7) / 8 : 0
        let prefix = 4 + 1 + 1 + offsetSize
        var blockHead = ByteCursor(try file.bytes(at: block, count: prefix + bitmapBytes))
        try blockHead.expect("FADB")
        try blockHead.skip(2 + offsetSize)
        let bitmap = Array(blockHead.bytes[prefix...])

        let fullChunk = UInt64(grid.bufferBytes(of: [Int](repeating: 0, count: grid.rank)))
        var chunks: [Int: ChunkLocation] = [:]
        func decode(_ bytes: [UInt8], first: Int, entries: Int) throws(IndexFormatError) {
            var cursor = ByteCursor(bytes)
            for i in 0..<entries {
                let raw = try cursor.uint(offsetSize)
                var size = fullChunk
                var mask: UInt32 = 0
                if filtered {
                    size = try cursor.uint(sizeBytes)
                    mask = UInt32(try cursor.uint(4))
                }
                if let offset = try absolute(raw), let linear = tileIndex(first + i) {
                    chunks[linear] = ChunkLocation(offset: offset, size: size, filterMask: mask)
                }
            }
        }
        if !paged {
            try decode(try file.bytes(at: block + UInt64(prefix), count: count * entrySize), first: 0, entries: count)
            return chunks
        }
        // Pages follow the block's prefix, bitmap and checksum, each with its own checksum.
        var pageAt = block + UInt64(prefix + bitmapBytes + 4)
        for page in 0..<pages {
            let entries = min(pageEntries, count - page * pageEntries)
            let initialised = bitmap[page / 8] & (0x80 >> UInt8(page % 8)) != 0
            if initialised {
                try decode(try file.bytes(at: pageAt, count: entries * entrySize), first: page * pageEntries, entries: entries)
            }
            pageAt += UInt64(entries * entrySize + 4)
        }
        return chunks
    }
}

extension OpenFile {
    /// The file's size in bytes.
    func size() throws(IndexFormatError) -> UInt64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size >= 0 else { throw IndexFormatError("fstat failed") }
        return UInt64(status.st_size)
    }
}
