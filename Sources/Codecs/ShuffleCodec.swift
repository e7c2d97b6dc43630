/// Shuffle filter (id 2): byte j of every element is stored together (plane j). As in libhdf5,
/// 1-byte elements or a single element leave the chunk as is, and bytes past the last whole
/// element stay at the end unchanged.
enum ShuffleCodec {
    static func decode(_ input: UnsafeRawBufferPointer, elementSize: Int, into target: StageTarget) throws(CodecError) -> UnsafeRawBufferPointer {
        let output = try target.buffer(for: input.count)
        transform(input, into: output, elementSize: elementSize, forward: false)
        return UnsafeRawBufferPointer(output)
    }

    static func encode(_ input: UnsafeRawBufferPointer, elementSize: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: input.count) { buffer, count in
            transform(input, into: UnsafeMutableRawBufferPointer(buffer), elementSize: elementSize, forward: true)
            count = input.count
        }
    }

    private static func transform(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                  elementSize: Int, forward: Bool) {
        let elements = elementSize > 0 ? input.count / elementSize : 0
        guard elementSize > 1, elements > 1 else {
            copyBytes(input, to: output)
            return
        }
        let whole = elements * elementSize
        let body = UnsafeRawBufferPointer(rebasing: input[0..<whole])
        if forward {
            Kernels.byteShuffle(body, into: output, elementSize: elementSize)
        } else {
            Kernels.byteUnshuffle(body, into: output, elementSize: elementSize)
        }
        copyBytes(UnsafeRawBufferPointer(rebasing: input[whole...]), to: output, at: whole)
    }
}
