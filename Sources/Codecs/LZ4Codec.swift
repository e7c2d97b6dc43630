import CLZ4

/// LZ4 filter (id 32004), framed as HDFGroup/hdf5_plugins `LZ4/src/H5Zlz4.c` writes it:
/// 8-byte big-endian decoded size, 4-byte big-endian block size, then per block a 4-byte
/// big-endian stored length and the block; a block whose stored length equals its decoded
/// length is kept raw.
enum LZ4Codec {
    /// hdf5plugin's default when client value 0 is 0: one block up to 1 GiB.
    static let defaultBlockSize = 1 << 30

    static func decode(_ input: UnsafeRawBufferPointer, into target: StageTarget) throws(CodecError) -> UnsafeRawBufferPointer {
        guard input.count >= 12 else { throw CodecError("lz4: chunk of \(input.count) bytes is shorter than its header") }
        let claimed = input.loadBigEndianUInt64(at: 0)
        guard claimed <= UInt64(target.capacity) else {
            throw CodecError("lz4: chunk claims \(claimed) decoded bytes, expected at most \(target.capacity)")
        }
        let total = Int(claimed)
        let output = try target.buffer(for: total)
        // As upstream: a block size beyond the whole is the whole.
        let blockSize = min(Int(input.loadBigEndianUInt32(at: 8)), total)
        guard total == 0 || blockSize > 0 else { throw CodecError("lz4: block size 0") }
        guard blockSize <= Int(Int32.max) else { throw CodecError("lz4: block size \(blockSize) too large") }

        var readAt = 12
        var written = 0
        while written < total {
            let length = min(blockSize, total - written)
            guard input.count - readAt >= 4 else { throw CodecError("lz4: truncated at block \(written / blockSize)") }
            let stored = Int(input.loadBigEndianUInt32(at: readAt))
            readAt += 4
            guard stored <= input.count - readAt else {
                throw CodecError("lz4: block \(written / blockSize) claims \(stored) bytes, \(input.count - readAt) left")
            }
            let source = UnsafeRawBufferPointer(rebasing: input[readAt..<(readAt + stored)])
            let destination = UnsafeMutableRawBufferPointer(rebasing: output[written..<(written + length)])
            if stored == length {
                copyBytes(source, to: destination)
            } else {
                let produced = LZ4_decompress_safe(source.baseAddress?.assumingMemoryBound(to: CChar.self),
                                                   destination.baseAddress?.assumingMemoryBound(to: CChar.self),
                                                   Int32(stored), Int32(length))
                guard produced == Int32(length) else {
                    throw CodecError("lz4: block \(written / blockSize) is corrupt")
                }
            }
            readAt += stored
            written += length
        }
        return UnsafeRawBufferPointer(output)
    }

    static func encode(_ input: UnsafeRawBufferPointer, blockSize requested: Int) throws(CodecError) -> [UInt8] {
        guard input.count <= Int(Int32.max) else { throw CodecError("lz4: chunk of \(input.count) bytes exceeds 2 GiB") }
        let blockSize = min(requested > 0 ? requested : defaultBlockSize, input.count)
        guard blockSize <= Int(Int32.max) else { throw CodecError("lz4: block size \(requested) too large") }
        let blocks = blockSize > 0 ? (input.count + blockSize - 1) / blockSize : 0
        let capacity = 12 + blocks * (4 + Int(LZ4_compressBound(Int32(blockSize))))
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            let output = UnsafeMutableRawBufferPointer(buffer)
            guard let base = output.baseAddress else { return }
            output.storeBigEndian(UInt64(input.count), at: 0)
            output.storeBigEndian(UInt32(blockSize), at: 8)
            var writeAt = 12
            var readAt = 0
            while readAt < input.count {
                let length = min(blockSize, input.count - readAt)
                let source = UnsafeRawBufferPointer(rebasing: input[readAt..<(readAt + length)])
                let room = output.count - writeAt - 4
                var stored = Int(LZ4_compress_default(source.baseAddress?.assumingMemoryBound(to: CChar.self),
                                                      (base + writeAt + 4).assumingMemoryBound(to: CChar.self),
                                                      Int32(length), Int32(room)))
                if stored <= 0 || stored >= length {
                    // Did not shrink: keep the block raw, which the decoder recognises by its length.
                    stored = length
                    copyBytes(source, to: output, at: writeAt + 4)
                }
                output.storeBigEndian(UInt32(stored), at: writeAt)
                writeAt += 4 + stored
                readAt += length
            }
            count = writeAt
        }
    }
}
