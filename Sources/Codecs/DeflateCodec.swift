import CDeflate

/// Deflate filter (id 1): the chunk is one zlib stream. libdeflate decodes it in one call
/// into a buffer of the known size, several times faster than zlib's inflate.
enum DeflateCodec {
    static func decode(_ input: UnsafeRawBufferPointer, into target: StageTarget) throws(CodecError) -> UnsafeRawBufferPointer {
        let inflater = try target.workspace.decompressor()
        switch target.size {
        case .exact(let count):
            let output = try target.buffer(for: count)
            let result = libdeflate_zlib_decompress(inflater, input.baseAddress, input.count,
                                                    output.baseAddress, count, nil)
            try check(result, expected: count)
            return UnsafeRawBufferPointer(output)
        case .atMost(let limit):
            // Only when a size-changing filter follows: decode into the limit, keep what came out.
            let space = target.workspace.buffer(target.slot, count: limit)
            var produced = 0
            let result = libdeflate_zlib_decompress(inflater, input.baseAddress, input.count,
                                                    space.baseAddress, limit, &produced)
            try check(result, expected: limit)
            return UnsafeRawBufferPointer(rebasing: space[0..<produced])
        }
    }

    private static func check(_ result: libdeflate_result, expected: Int) throws(CodecError) {
        switch result {
        case LIBDEFLATE_SUCCESS: return
        case LIBDEFLATE_SHORT_OUTPUT: throw CodecError("deflate: stream ends before \(expected) bytes")
        case LIBDEFLATE_INSUFFICIENT_SPACE: throw CodecError("deflate: stream decodes to more than \(expected) bytes")
        default: throw CodecError("deflate: corrupt zlib stream")
        }
    }

    static func encode(_ input: UnsafeRawBufferPointer, level: Int, workspace: CodecWorkspace? = nil) throws(CodecError) -> [UInt8] {
        // libdeflate knows levels 0...12; HDF5 writes 0...9.
        guard (0...12).contains(level) else { throw CodecError("deflate: level \(level) out of range 0...12") }
        if let workspace {
            return try encode(input, with: try workspace.compressor(level: level))
        }
        guard let compressor = libdeflate_alloc_compressor(Int32(level)) else {
            throw CodecError("deflate: cannot allocate a compressor")
        }
        defer { libdeflate_free_compressor(compressor) }
        return try encode(input, with: compressor)
    }

    private static func encode(_ input: UnsafeRawBufferPointer, with compressor: OpaquePointer) throws(CodecError) -> [UInt8] {
        let bound = libdeflate_zlib_compress_bound(compressor, input.count)
        var written = 0
        let encoded = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            written = libdeflate_zlib_compress(compressor, input.baseAddress, input.count, buffer.baseAddress, bound)
            count = written
        }
        guard written > 0 else { throw CodecError("deflate: compression failed") }
        return encoded
    }
}
