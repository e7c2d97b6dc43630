import Glibc

/// What one decode stage of a pipeline may produce.
enum StageSize {
    /// The stage must decode to exactly this many bytes.
    case exact(Int)
    /// The size is not known ahead (a compressor follows); anything up to this limit is accepted,
    /// which bounds what a hostile chunk can make us allocate.
    case atMost(Int)
}

/// Where one decode stage writes: the caller's output for the last stage, otherwise a
/// workspace buffer other than the one holding the stage's input.
struct StageTarget {
    let size: StageSize
    /// Set for the last stage: the decoded chunk goes here and must fill it exactly.
    let finalOutput: UnsafeMutableRawBufferPointer?
    let workspace: CodecWorkspace
    let slot: CodecWorkspace.Slot
    /// For messages: which filter is decoding.
    let filterName: String

    var isFinal: Bool { finalOutput != nil }

    /// Largest output this stage may produce.
    var capacity: Int {
        switch size {
        case .exact(let count): count
        case .atMost(let limit): limit
        }
    }

    /// Throws unless `count` decoded bytes is what this stage may produce.
    func check(count: Int) throws(CodecError) {
        switch size {
        case .exact(let expected) where count != expected:
            throw CodecError("\(filterName): chunk decodes to \(count) bytes, expected \(expected)")
        case .atMost(let limit) where count > limit || count < 0:
            throw CodecError("\(filterName): chunk claims \(count) decoded bytes, more than the limit \(limit)")
        default:
            break
        }
    }

    /// A buffer for exactly `count` decoded bytes, after checking `count`.
    func buffer(for count: Int) throws(CodecError) -> UnsafeMutableRawBufferPointer {
        try check(count: count)
        if let finalOutput { return finalOutput }
        return workspace.buffer(slot, count: count)
    }

    /// The stage's result when it is `bytes` itself (a checksum strip): copied into the final
    /// output for the last stage, else passed on as is.
    func passThrough(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> UnsafeRawBufferPointer {
        try check(count: bytes.count)
        guard let finalOutput else { return bytes }
        copyBytes(bytes, to: finalOutput)
        return UnsafeRawBufferPointer(finalOutput)
    }
}

/// memcpy that tolerates empty buffers (whose base address may be nil).
func copyBytes(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawBufferPointer, at offset: Int = 0) {
    guard source.count > 0, let from = source.baseAddress, let to = destination.baseAddress else { return }
    memcpy(to + offset, from, source.count)
}
