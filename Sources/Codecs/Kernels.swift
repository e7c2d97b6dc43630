import CodecKernels

/// Swift face on the C transposes (Sources/CodecKernels). The SIMD level is detected once;
/// the `level` parameters exist so tests can run the lower levels' paths on a machine with a higher one.
package enum Kernels {
    /// 0 scalar, 1 SSE2, 2 AVX2, 3 AVX-512 with GFNI (bitshuffle decode): the best this CPU runs.
    package static let bestLevel: Int32 = ck_simd_level()

    /// HDF5 shuffle forward: elements of `elementSize` bytes -> byte planes. Whole elements only.
    package static func byteShuffle(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                    elementSize: Int, level: Int32 = bestLevel) {
        guard elementSize > 0, let source = input.baseAddress, let target = output.baseAddress else { return }
        precondition(output.count >= input.count && input.count % elementSize == 0)
        ck_byte_shuffle(source.assumingMemoryBound(to: UInt8.self), target.assumingMemoryBound(to: UInt8.self),
                        input.count / elementSize, elementSize, level)
    }

    /// HDF5 shuffle reverse: byte planes -> elements of `elementSize` bytes. Whole elements only.
    package static func byteUnshuffle(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                      elementSize: Int, level: Int32 = bestLevel) {
        guard elementSize > 0, let source = input.baseAddress, let target = output.baseAddress else { return }
        precondition(output.count >= input.count && input.count % elementSize == 0)
        ck_byte_unshuffle(source.assumingMemoryBound(to: UInt8.self), target.assumingMemoryBound(to: UInt8.self),
                          input.count / elementSize, elementSize, level)
    }

    /// Bitshuffles one block: `input.count / elementSize` elements, a multiple of 8.
    /// `temp` holds at least `input.count` bytes.
    package static func bitshuffleBlock(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                        temp: UnsafeMutableRawBufferPointer, elementSize: Int,
                                        level: Int32 = bestLevel) {
        guard let (source, target, scratch, count) = blockArguments(input, output, temp, elementSize) else { return }
        ck_bitshuffle_block(source, target, scratch, count, elementSize, level)
    }

    /// Reverses `bitshuffleBlock`; same shapes.
    package static func bitunshuffleBlock(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                          temp: UnsafeMutableRawBufferPointer, elementSize: Int,
                                          level: Int32 = bestLevel) {
        guard let (source, target, scratch, count) = blockArguments(input, output, temp, elementSize) else { return }
        ck_bitunshuffle_block(source, target, scratch, count, elementSize, level)
    }

    /// HDF5's Fletcher-32 of `bytes`.
    package static func fletcher32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return 0 }
        return ck_fletcher32(base.assumingMemoryBound(to: UInt8.self), bytes.count)
    }

    private static func blockArguments(
        _ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer,
        _ temp: UnsafeMutableRawBufferPointer, _ elementSize: Int
    ) -> (UnsafePointer<UInt8>, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, Int)? {
        guard elementSize > 0, input.count > 0 else { return nil }
        let count = input.count / elementSize
        precondition(input.count % elementSize == 0 && count % 8 == 0, "bitshuffle block of whole 8-element groups")
        precondition(output.count >= input.count && (elementSize == 1 || temp.count >= input.count))
        guard let source = input.baseAddress, let target = output.baseAddress else { return nil }
        // The C side ignores `temp` for 1-byte elements, so any valid pointer will do there.
        let scratch = temp.baseAddress ?? target
        return (source.assumingMemoryBound(to: UInt8.self), target.assumingMemoryBound(to: UInt8.self),
                scratch.assumingMemoryBound(to: UInt8.self), count)
    }
}
