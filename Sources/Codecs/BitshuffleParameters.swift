/// Client values of the bitshuffle filter (kiyo-masui/bitshuffle `bshuf_h5filter.c`), stored
/// form: [filter version, bitshuffle version, element size, block size in elements (0 = default),
/// compression (0 none, 2 LZ4, 3 zstd), zstd level].
struct BitshuffleParameters: Equatable {
    enum Compression: Equatable { case none, lz4 }

    var elementSize: Int
    /// Elements per block as configured; 0 means `defaultBlockElements`. With LZ4 the chunk
    /// header carries the block size actually used, and decoding follows the header.
    var blockElements: Int
    var compression: Compression

    init(stored values: [UInt32]) throws(CodecError) {
        guard values.count >= 3 else {
            throw CodecError("bitshuffle: expected at least 3 client values, got \(values.count)")
        }
        try self.init(elementSize: Int(values[2]),
                      blockElements: values.count > 3 ? Int(values[3]) : 0,
                      compressionCode: values.count > 4 ? values[4] : 0)
    }

    /// Stored form when there are at least three values, else the user form
    /// `[block size, compression]` with the element size given.
    init(encoding values: [UInt32], elementSize: Int) throws(CodecError) {
        if values.count >= 3 {
            try self.init(stored: values)
        } else {
            try self.init(elementSize: elementSize,
                          blockElements: values.first.map(Int.init) ?? 0,
                          compressionCode: values.count > 1 ? values[1] : 0)
        }
    }

    private init(elementSize: Int, blockElements: Int, compressionCode: UInt32) throws(CodecError) {
        guard elementSize > 0 else { throw CodecError("bitshuffle: element size 0") }
        switch compressionCode {
        case 0: compression = .none
        case 2: compression = .lz4
        case 3: throw CodecError("bitshuffle: zstd compression is not implemented")
        default: throw CodecError("bitshuffle: unknown compression \(compressionCode)")
        }
        // Upstream refuses block sizes that are not a multiple of 8 when the filter is set.
        guard blockElements % 8 == 0 else {
            throw CodecError("bitshuffle: block size \(blockElements) is not a multiple of 8")
        }
        self.elementSize = elementSize
        self.blockElements = blockElements
    }

    /// `bshuf_default_block_size`: about 8 KiB per block, a multiple of 8 elements, at least 128.
    /// Upstream keeps this stable across versions because uncompressed chunks depend on it.
    static func defaultBlockElements(elementSize: Int) -> Int {
        max(128, (8192 / elementSize) / 8 * 8)
    }

    var effectiveBlockElements: Int {
        blockElements > 0 ? blockElements : Self.defaultBlockElements(elementSize: elementSize)
    }
}
