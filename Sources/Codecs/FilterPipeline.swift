import H5Model

/// The HDF5 filter pipeline, natively: deflate (1), shuffle (2), fletcher32 (3), LZ4 (32004)
/// and bitshuffle with or without LZ4 (32008). Pure byte transforms, no libhdf5, safe to call
/// from many threads at once (each with its own `CodecWorkspace`). Datasets with any other
/// filter are read through libhdf5 instead (`canDecode` says which).
package enum FilterPipeline {
    /// True when every filter in `filters` is decoded natively (unknown ids, zstd bitshuffle and
    /// malformed client data are not).
    package static func canDecode(_ filters: [FilterSpec]) -> Bool {
        filters.allSatisfy { spec in
            do throws(CodecError) {
                _ = try FilterKind(decoding: spec, elementSize: 1)
                return true
            } catch {
                return false
            }
        }
    }

    /// Decodes one stored chunk into `output`, which has exactly the decoded chunk's size.
    /// Filters run in reverse pipeline order; bit i of `filterMask` set means filter i was
    /// skipped for this chunk. Corrupt input of any kind throws; nothing is ever written
    /// outside `output`, and no stage produces more than `intermediateLimit(output.count)`.
    package static func decode(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], filterMask: UInt32,
                               elementSize: Int, into output: UnsafeMutableRawBufferPointer) throws(CodecError) {
        try decode(chunk, filters: filters, filterMask: filterMask, elementSize: elementSize,
                   into: output, workspace: CodecWorkspace())
    }

    /// As above, reusing `workspace`'s buffers (the fast path for worker threads).
    package static func decode(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], filterMask: UInt32,
                               elementSize: Int, into output: UnsafeMutableRawBufferPointer,
                               workspace: CodecWorkspace) throws(CodecError) {
        // Decode order: the last applied filter first, skipping those the mask marks.
        var stages: [FilterKind] = []
        for index in filters.indices.reversed() where index >= 32 || filterMask & (1 << UInt32(index)) == 0 {
            stages.append(try FilterKind(decoding: filters[index], elementSize: elementSize))
        }
        guard !stages.isEmpty else {
            guard chunk.count == output.count else {
                throw CodecError("unfiltered chunk has \(chunk.count) bytes, expected \(output.count)")
            }
            copyBytes(chunk, to: output)
            return
        }

        // Each stage's output size is exact when only size-predictable filters follow it.
        var sizes = [StageSize](repeating: .exact(output.count), count: stages.count)
        var known: Int? = output.count
        for position in stages.indices.reversed() {
            sizes[position] = known.map { .exact($0) } ?? .atMost(intermediateLimit(output.count))
            known = known.flatMap { stages[position].encodedSize(decoded: $0) }
        }

        var current = chunk
        var currentSlot: CodecWorkspace.Slot? = nil
        for (position, stage) in stages.enumerated() {
            let isLast = position == stages.count - 1
            // Write to the stage buffer that does not hold this stage's input.
            let slot: CodecWorkspace.Slot = currentSlot == .stageA ? .stageB : .stageA
            let target = StageTarget(size: sizes[position], finalOutput: isLast ? output : nil,
                                     workspace: workspace, slot: slot, filterName: stage.name)
            let decoded = try decodeStage(stage, current, into: target)
            // A checksum strip passes its input through; only a written stage moves to `slot`.
            if decoded.baseAddress != current.baseAddress { currentSlot = slot }
            current = decoded
        }
    }

    /// Encodes a chunk for writing: applies `filters` in pipeline order.
    package static func encode(_ data: UnsafeRawBufferPointer, filters: [FilterSpec],
                               elementSize: Int) throws(CodecError) -> [UInt8] {
        try encode(data, filters: filters, elementSize: elementSize, workspace: nil)
    }

    /// As above, reusing `workspace`'s compressors (the write path packs thousands of small
    /// chunks; a fresh libdeflate compressor each time costs more than compressing them).
    package static func encode(_ data: UnsafeRawBufferPointer, filters: [FilterSpec], elementSize: Int,
                               workspace: CodecWorkspace?) throws(CodecError) -> [UInt8] {
        guard let first = filters.first else { return [UInt8](data) }
        // The first stage reads the caller's bytes directly; later ones the previous output.
        var current = try encodeStage(try FilterKind(encoding: first, elementSize: elementSize), data, workspace)
        for spec in filters.dropFirst() {
            let stage = try FilterKind(encoding: spec, elementSize: elementSize)
            var next: [UInt8] = []
            var failure: CodecError?
            current.withUnsafeBytes { bytes in
                do throws(CodecError) { next = try encodeStage(stage, bytes, workspace) } catch { failure = error }
            }
            if let failure { throw failure }
            current = next
        }
        return current
    }

    /// Bound on an intermediate stage's size when it cannot be known ahead: generous for any
    /// real pipeline (compressed data is at most a little larger than its input), small enough
    /// that a chunk claiming a huge size is refused before anything is allocated.
    static func intermediateLimit(_ outputCount: Int) -> Int {
        outputCount * 2 + (1 << 20)
    }

    private static func decodeStage(_ stage: FilterKind, _ input: UnsafeRawBufferPointer,
                                    into target: StageTarget) throws(CodecError) -> UnsafeRawBufferPointer {
        switch stage {
        case .deflate: try DeflateCodec.decode(input, into: target)
        case .shuffle(let elementSize): try ShuffleCodec.decode(input, elementSize: elementSize, into: target)
        case .fletcher32: try Fletcher32Codec.decode(input, into: target)
        case .lz4: try LZ4Codec.decode(input, into: target)
        case .bitshuffle(let parameters): try BitshuffleCodec.decode(input, parameters: parameters, into: target)
        }
    }

    private static func encodeStage(_ stage: FilterKind, _ input: UnsafeRawBufferPointer,
                                    _ workspace: CodecWorkspace?) throws(CodecError) -> [UInt8] {
        switch stage {
        case .deflate(let level): try DeflateCodec.encode(input, level: level, workspace: workspace)
        case .shuffle(let elementSize): ShuffleCodec.encode(input, elementSize: elementSize)
        case .fletcher32: Fletcher32Codec.encode(input)
        case .lz4(let blockSize): try LZ4Codec.encode(input, blockSize: blockSize)
        case .bitshuffle(let parameters): try BitshuffleCodec.encode(input, parameters: parameters)
        }
    }
}
