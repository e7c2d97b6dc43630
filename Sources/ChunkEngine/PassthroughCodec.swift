import H5Model

/// Decodes only chunks that went through no filter (they are stored as their bytes).
/// The engine's default until the Codecs filter pipeline is wired in; any filtered
/// dataset then reads through libhdf5 (`readBlock`), which is slower but always right.
package struct PassthroughCodec: ChunkCodec {
    package init() {}

    package func canDecode(_ filters: [FilterSpec]) -> Bool { filters.isEmpty }

    package func decode(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], filterMask: UInt32,
                        elementSize: Int, into output: UnsafeMutableRawBufferPointer) throws(ChunkCodecError) {
        guard FilterSpec.applied(filters, mask: filterMask).isEmpty else {
            throw ChunkCodecError("no native decoder for filters \(filters.map(\.id))")
        }
        guard chunk.count == output.count else {
            throw ChunkCodecError("unfiltered chunk holds \(chunk.count) bytes, expected \(output.count)")
        }
        if let source = chunk.baseAddress, let target = output.baseAddress {
            target.copyMemory(from: source, byteCount: output.count)
        }
    }
}
