/// Fletcher-32 filter (id 3): HDF5 appends the checksum of the chunk, little-endian
/// (UINT32ENCODE). Decoding verifies and strips it.
enum Fletcher32Codec {
    static func decode(_ input: UnsafeRawBufferPointer, into target: StageTarget) throws(CodecError) -> UnsafeRawBufferPointer {
        guard input.count >= 4 else { throw CodecError("fletcher32: chunk of \(input.count) bytes has no checksum") }
        let body = UnsafeRawBufferPointer(rebasing: input[0..<(input.count - 4)])
        let stored = input.loadLittleEndianUInt32(at: body.count)
        let computed = Kernels.fletcher32(body)
        // libhdf5 before 1.6.3 computed the sum with the bytes of each 16-bit half swapped on
        // little-endian machines; libhdf5 still accepts that form, and so do we.
        let legacy = ((computed & 0x00ff_00ff) << 8) | ((computed >> 8) & 0x00ff_00ff)
        guard stored == computed || stored == legacy else {
            throw CodecError("fletcher32: checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))")
        }
        return try target.passThrough(body)
    }

    static func encode(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let checksum = Kernels.fletcher32(input)
        return [UInt8](unsafeUninitializedCapacity: input.count + 4) { buffer, count in
            let output = UnsafeMutableRawBufferPointer(buffer)
            copyBytes(input, to: output)
            output.storeLittleEndian(checksum, at: input.count)
            count = input.count + 4
        }
    }

    private static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
