import CLZ4

/// Bitshuffle filter (id 32008, kiyo-masui/bitshuffle). The chunk is cut into blocks of
/// `blockElements` elements; a last partial block is rounded down to a multiple of 8 elements
/// and the remaining (fewer than 8) elements are stored raw at the very end. Each block is
/// bit-transposed (see Sources/CodecKernels/bit_transpose.c).
///
/// Without compression the blocks follow each other with no framing. With LZ4 the chunk is:
/// 8-byte big-endian decoded size, 4-byte big-endian block size in bytes, then per block a
/// 4-byte big-endian length and an LZ4 block, then the raw leftover elements.
enum BitshuffleCodec {
    /// How an `elements`-long chunk splits into blocks.
    struct Blocks {
        var blockElements: Int
        var fullBlocks: Int
        /// Elements in the partial last block (a multiple of 8, may be 0).
        var lastBlock: Int
        /// Trailing elements copied raw (fewer than 8).
        var leftover: Int
        /// Elements in the largest block, to size scratch buffers.
        var largest: Int { fullBlocks > 0 ? blockElements : lastBlock }

        init(elements: Int, blockElements: Int) {
            self.blockElements = blockElements
            fullBlocks = elements / blockElements
            let rest = elements % blockElements
            lastBlock = rest - rest % 8
            leftover = rest % 8
        }

        /// Element counts of the blocks in order.
        var lengths: [Int] {
            Array(repeating: blockElements, count: fullBlocks) + (lastBlock > 0 ? [lastBlock] : [])
        }
    }

    static func decode(_ input: UnsafeRawBufferPointer, parameters: BitshuffleParameters,
                       into target: StageTarget) throws(CodecError) -> UnsafeRawBufferPointer {
        switch parameters.compression {
        case .none: try decodePlain(input, parameters: parameters, into: target)
        case .lz4: try decodeLZ4(input, parameters: parameters, into: target)
        }
    }

    private static func decodePlain(_ input: UnsafeRawBufferPointer, parameters: BitshuffleParameters,
                                    into target: StageTarget) throws(CodecError) -> UnsafeRawBufferPointer {
        let size = parameters.elementSize
        let output = try target.buffer(for: input.count)
        guard input.count % size == 0 else {
            throw CodecError("bitshuffle: \(input.count) bytes is not a whole number of \(size)-byte elements")
        }
        let blocks = Blocks(elements: input.count / size, blockElements: parameters.effectiveBlockElements)
        let temp = target.workspace.buffer(.blockTemp, count: blocks.largest * size)
        var offset = 0
        for length in blocks.lengths {
            let bytes = length * size
            Kernels.bitunshuffleBlock(UnsafeRawBufferPointer(rebasing: input[offset..<(offset + bytes)]),
                                      into: UnsafeMutableRawBufferPointer(rebasing: output[offset..<(offset + bytes)]),
                                      temp: temp, elementSize: size)
            offset += bytes
        }
        copyBytes(UnsafeRawBufferPointer(rebasing: input[offset...]), to: output, at: offset)
        return UnsafeRawBufferPointer(output)
    }

    private static func decodeLZ4(_ input: UnsafeRawBufferPointer, parameters: BitshuffleParameters,
                                  into target: StageTarget) throws(CodecError) -> UnsafeRawBufferPointer {
        let size = parameters.elementSize
        guard input.count >= 12, let inputBase = input.baseAddress else {
            throw CodecError("bitshuffle: chunk of \(input.count) bytes is shorter than its header")
        }
        let claimed = input.loadBigEndianUInt64(at: 0)
        guard claimed <= UInt64(target.capacity) else {
            throw CodecError("bitshuffle: chunk claims \(claimed) decoded bytes, expected at most \(target.capacity)")
        }
        let total = Int(claimed)
        let output = try target.buffer(for: total)
        guard total % size == 0 else {
            throw CodecError("bitshuffle: \(total) bytes is not a whole number of \(size)-byte elements")
        }
        // The header's block size wins over the client values; 0 means the default, as upstream.
        var blockElements = Int(input.loadBigEndianUInt32(at: 8)) / size
        if blockElements == 0 { blockElements = BitshuffleParameters.defaultBlockElements(elementSize: size) }
        guard blockElements % 8 == 0 else {
            throw CodecError("bitshuffle: block of \(blockElements) elements is not a multiple of 8")
        }
        let blocks = Blocks(elements: total / size, blockElements: blockElements)
        guard blocks.largest * size <= Int(Int32.max) else { throw CodecError("bitshuffle: block too large for LZ4") }
        let raw = target.workspace.buffer(.block, count: blocks.largest * size)
        let temp = target.workspace.buffer(.blockTemp, count: blocks.largest * size)

        var readAt = 12
        var writeAt = 0
        for (index, length) in blocks.lengths.enumerated() {
            let bytes = length * size
            guard input.count - readAt >= 4 else { throw CodecError("bitshuffle: truncated at block \(index)") }
            let stored = Int(input.loadBigEndianUInt32(at: readAt))
            readAt += 4
            guard stored <= input.count - readAt else {
                throw CodecError("bitshuffle: block \(index) claims \(stored) bytes, \(input.count - readAt) left")
            }
            let produced = LZ4_decompress_safe((inputBase + readAt).assumingMemoryBound(to: CChar.self),
                                               raw.baseAddress?.assumingMemoryBound(to: CChar.self),
                                               Int32(stored), Int32(bytes))
            guard produced == Int32(bytes) else { throw CodecError("bitshuffle: block \(index) is corrupt") }
            Kernels.bitunshuffleBlock(UnsafeRawBufferPointer(rebasing: raw[0..<bytes]),
                                      into: UnsafeMutableRawBufferPointer(rebasing: output[writeAt..<(writeAt + bytes)]),
                                      temp: temp, elementSize: size)
            readAt += stored
            writeAt += bytes
        }
        let leftoverBytes = blocks.leftover * size
        guard input.count - readAt >= leftoverBytes else { throw CodecError("bitshuffle: truncated before the last elements") }
        copyBytes(UnsafeRawBufferPointer(rebasing: input[readAt..<(readAt + leftoverBytes)]), to: output, at: writeAt)
        return UnsafeRawBufferPointer(output)
    }

    static func encode(_ input: UnsafeRawBufferPointer, parameters: BitshuffleParameters) throws(CodecError) -> [UInt8] {
        let size = parameters.elementSize
        guard input.count % size == 0 else {
            throw CodecError("bitshuffle: \(input.count) bytes is not a whole number of \(size)-byte elements")
        }
        let blocks = Blocks(elements: input.count / size, blockElements: parameters.effectiveBlockElements)
        // Both factors come from client values (up to 2^32 each): the product can overflow.
        let (blockBytes, overflow) = blocks.blockElements.multipliedReportingOverflow(by: size)
        guard !overflow, blockBytes <= Int(Int32.max) else {
            throw CodecError("bitshuffle: block of \(blocks.blockElements) \(size)-byte elements too large")
        }
        let temp = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, blocks.largest * size), alignment: 64)
        defer { temp.deallocate() }

        if parameters.compression == .none {
            return [UInt8](unsafeUninitializedCapacity: input.count) { buffer, count in
                let output = UnsafeMutableRawBufferPointer(buffer)
                var offset = 0
                for length in blocks.lengths {
                    let bytes = length * size
                    Kernels.bitshuffleBlock(UnsafeRawBufferPointer(rebasing: input[offset..<(offset + bytes)]),
                                            into: UnsafeMutableRawBufferPointer(rebasing: output[offset..<(offset + bytes)]),
                                            temp: temp, elementSize: size)
                    offset += bytes
                }
                copyBytes(UnsafeRawBufferPointer(rebasing: input[offset...]), to: output, at: offset)
                count = input.count
            }
        }

        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, blocks.largest * size), alignment: 64)
        defer { raw.deallocate() }
        let lengths = blocks.lengths
        let capacity = 12 + lengths.reduce(0) { $0 + 4 + Int(LZ4_compressBound(Int32($1 * size))) } + blocks.leftover * size
        var failed = false
        let encoded = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            let output = UnsafeMutableRawBufferPointer(buffer)
            guard let base = output.baseAddress else { return }
            output.storeBigEndian(UInt64(input.count), at: 0)
            output.storeBigEndian(UInt32(blockBytes), at: 8)
            var readAt = 0
            var writeAt = 12
            for length in lengths {
                let bytes = length * size
                let block = UnsafeMutableRawBufferPointer(rebasing: raw[0..<bytes])
                Kernels.bitshuffleBlock(UnsafeRawBufferPointer(rebasing: input[readAt..<(readAt + bytes)]),
                                        into: block, temp: temp, elementSize: size)
                let stored = LZ4_compress_default(block.baseAddress?.assumingMemoryBound(to: CChar.self),
                                                  (base + writeAt + 4).assumingMemoryBound(to: CChar.self),
                                                  Int32(bytes), Int32(capacity - writeAt - 4))
                guard stored > 0 else { failed = true; return }
                output.storeBigEndian(UInt32(stored), at: writeAt)
                writeAt += 4 + Int(stored)
                readAt += bytes
            }
            let rest = UnsafeRawBufferPointer(rebasing: input[readAt...])
            copyBytes(rest, to: output, at: writeAt)
            count = writeAt + rest.count
        }
        guard !failed else { throw CodecError("bitshuffle: LZ4 compression failed") }
        return encoded
    }
}
