import CDeflate

/// Scratch memory and a libdeflate decompressor for decoding chunks (and compressors for
/// encoding them), kept between calls.
///
/// Why: freshly allocated memory is slow to touch on the target machines, and a chunk decode
/// that allocates its intermediate buffers each time loses much of its speed. A worker thread
/// keeps one workspace and passes it to every `FilterPipeline.decode`.
///
/// Not thread-safe: one thread uses a workspace at a time (a worker owns it, or checks it out
/// of a pool under a lock). It is `@unchecked Sendable` only so that it can move between
/// threads that way.
package final class CodecWorkspace: @unchecked Sendable {
    /// The buffers a decode uses: two for whole-chunk stages (ping-pong), two per-block ones.
    enum Slot: Int, CaseIterable {
        case stageA, stageB, block, blockTemp
    }

    private var buffers: [UnsafeMutableRawBufferPointer]
    private var inflater: OpaquePointer?
    /// libdeflate compressors by level, for encoding (the write path).
    private var compressors: [Int: OpaquePointer] = [:]

    package init() {
        buffers = Slot.allCases.map { _ in UnsafeMutableRawBufferPointer(start: nil, count: 0) }
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
        if let inflater { libdeflate_free_decompressor(inflater) }
        for compressor in compressors.values { libdeflate_free_compressor(compressor) }
    }

    /// `count` bytes of the slot's buffer (contents undefined), growing it when needed.
    /// The pointer stays valid until the next call for the same slot.
    func buffer(_ slot: Slot, count: Int) -> UnsafeMutableRawBufferPointer {
        var buffer = buffers[slot.rawValue]
        if buffer.count < count || buffer.baseAddress == nil {
            buffer.deallocate()
            // Round up so that slightly different sizes reuse the same allocation.
            let capacity = max(4096, (count + 4095) & ~4095)
            buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
            buffers[slot.rawValue] = buffer
        }
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
    }

    /// The workspace's libdeflate compressor for `level`, made on first use.
    func compressor(level: Int) throws(CodecError) -> OpaquePointer {
        if let compressor = compressors[level] { return compressor }
        guard let made = libdeflate_alloc_compressor(Int32(level)) else {
            throw CodecError("deflate: cannot allocate a compressor")
        }
        compressors[level] = made
        return made
    }

    /// The workspace's libdeflate decompressor, made on first use.
    func decompressor() throws(CodecError) -> OpaquePointer {
        if let inflater { return inflater }
        guard let made = libdeflate_alloc_decompressor() else {
            throw CodecError("deflate: cannot allocate a decompressor")
        }
        inflater = made
        return made
    }
}
