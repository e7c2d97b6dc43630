import Glibc
import H5Model
import HDF5

/// Applies a `RawArrayWrite` to a dataset through `HDF5Writer`: the same steps live (at a
/// writer's close) and in a replay (recovery), so both give the same dataset.
///
/// 1. `begin`: open the dataset, check the new size is whole rows (or the fixed size), set
///    the extent (libhdf5 fills new rows with the fill value and drops cut ones).
/// 2. `fill`: write, in C order and in pieces of about a slab of chunks (4 to 32 MiB), every
///    element that changes: elements the spool's ranges touch (an element only partly written
///    keeps its other stored bytes) and elements between `keptBytes` and the old size that
///    were not written (they become the fill value, as after a truncate-and-grow).
///    Memory: one piece buffer plus libhdf5's chunk cache (about two slabs).
package enum RawArrayApply {
    struct Begun {
        var target: RawArrayTarget
        /// The raw-array file's size before the change.
        var storedBytes: UInt64
    }

    static func begin(_ change: RawArrayWrite, _ writer: HDF5Writer) throws(StagingError) -> Begun {
        var target = try store { () throws(StoreError) -> RawArrayTarget in try writer.beginRawWrite(at: change.path) }
        let elementSize = UInt64(target.elementSize)
        let stored = target.elementCount * elementSize
        do throws(StagingError) {
            if change.size != stored {
                let rowBytes = target.shape.dropFirst().reduce(elementSize, *)
                guard !target.shape.isEmpty, rowBytes > 0, change.size % rowBytes == 0 else {
                    throw StagingError(EINVAL, "\(change.path): \(change.size) bytes are not whole rows of \(target.shape)")
                }
                try store { () throws(StoreError) in try writer.setRawExtent(&target, firstDimension: change.size / rowBytes) }
            }
        } catch {
            abandon(Begun(target: target, storedBytes: stored), writer)
            throw error
        }
        return Begun(target: target, storedBytes: stored)
    }

    static func abandon(_ begun: Begun, _ writer: HDF5Writer) {
        try? writer.finishRawWrite(begun.target)
    }

    /// Writes the changed elements, then finishes the write (chunks flushed, metadata written).
    static func fill(_ change: RawArrayWrite, _ begun: Begun, source: (any ByteSource)?, _ writer: HDF5Writer) throws(StagingError) {
        do throws(StagingError) {
            try writeElements(change, begun, source: source, writer)
        } catch {
            abandon(begun, writer)
            throw error
        }
        try store { () throws(StoreError) in try writer.finishRawWrite(begun.target) }
    }

    /// The element-aligned byte runs that change, in order.
    package static func changedRuns(_ change: RawArrayWrite, elementSize: UInt64, storedBytes: UInt64) -> ByteRanges {
        var written = ByteRanges(change.written)
        written.clip(to: change.size)
        var runs = ByteRanges()
        func aligned(_ range: Range<UInt64>) -> Range<UInt64> {
            range.lowerBound / elementSize * elementSize ..< min((range.upperBound + elementSize - 1) / elementSize * elementSize, change.size)
        }
        for range in written.ranges { runs.insert(aligned(range)) }
        let kept = min(change.keptBytes, storedBytes)
        let dropped = kept ..< max(kept, min(storedBytes, change.size))
        for gap in written.gaps(in: dropped) { runs.insert(aligned(gap)) }
        return runs
    }

    /// Piece size: whole slabs of chunks where they are 4 to 32 MiB, whole elements always.
    package static func pieceBytes(slabBytes: UInt64, elementSize: UInt64) -> UInt64 {
        let low: UInt64 = 4 << 20, high: UInt64 = 32 << 20
        var piece = max(slabBytes, elementSize)
        if piece < low { piece *= (low + piece - 1) / piece }
        if piece > high { piece = max(elementSize, high / elementSize * elementSize) }
        return piece
    }

    private static func writeElements(_ change: RawArrayWrite, _ begun: Begun, source: (any ByteSource)?,
                                      _ writer: HDF5Writer) throws(StagingError) {
        let target = begun.target
        let elementSize = UInt64(target.elementSize)
        let runs = changedRuns(change, elementSize: elementSize, storedBytes: begun.storedBytes)
        guard !runs.isEmpty else { return }
        var written = ByteRanges(change.written)
        written.clip(to: change.size)
        if source == nil, !written.isEmpty { throw StagingError(EIO, "\(change.path): the written bytes are missing") }
        let kept = min(change.keptBytes, begun.storedBytes)
        let piece = pieceBytes(slabBytes: target.slabBytes, elementSize: elementSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(piece, runs.ranges.map { UInt64($0.count) }.max() ?? 0)),
                                                           alignment: 16)
        defer { buffer.deallocate() }
        for run in runs.ranges {
            var position = run.lowerBound
            while position < run.upperBound {
                let end = min(run.upperBound, (position / piece + 1) * piece)
                let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(end - position)])
                try compose(bytes, at: position, written: written.intersecting(position..<end), kept: kept,
                            target, source, writer)
                try store { () throws(StoreError) in
                    try writer.writeRaw(target, firstElement: position / elementSize, bytes: UnsafeRawBufferPointer(bytes))
                }
                position = end
            }
        }
    }

    /// The new bytes of elements at `offset` (element-aligned): fill value, stored bytes of
    /// elements written only in part (below `kept`), then the written bytes over them.
    private static func compose(_ bytes: UnsafeMutableRawBufferPointer, at offset: UInt64, written: [Range<UInt64>],
                                kept: UInt64, _ target: RawArrayTarget, _ source: (any ByteSource)?,
                                _ writer: HDF5Writer) throws(StagingError) {
        let elementSize = UInt64(target.elementSize)
        repeatElement(target.fillElement, into: bytes)
        for part in written {
            for edge in Set([part.lowerBound, part.upperBound - 1]) {
                let element = edge / elementSize
                let start = element * elementSize
                let wholeElement = part.lowerBound <= start && part.upperBound >= start + elementSize
                guard !wholeElement, start < kept else { continue }
                let into = UnsafeMutableRawBufferPointer(rebasing: bytes[Int(start - offset)..<Int(start - offset + elementSize)])
                try store { () throws(StoreError) in try writer.readRaw(target, firstElement: element, into: into) }
            }
        }
        guard let source else { return }
        for part in written {
            let into = UnsafeMutableRawBufferPointer(rebasing: bytes[Int(part.lowerBound - offset)..<Int(part.upperBound - offset)])
            let got = try source.read(into: into, at: part.lowerBound)
            guard got == into.count else {
                throw StagingError(EIO, "\(target.path): the spool ends before byte \(part.upperBound)")
            }
        }
    }

    /// `bytes` filled with copies of `element` (its length divides the buffer's).
    static func repeatElement(_ element: [UInt8], into bytes: UnsafeMutableRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if element.allSatisfy({ $0 == element.first }) {
            memset(base, Int32(element.first ?? 0), bytes.count)
            return
        }
        element.withUnsafeBytes { source in
            base.copyMemory(from: source.baseAddress!, byteCount: min(element.count, bytes.count))
        }
        var filled = min(element.count, bytes.count)
        while filled < bytes.count {
            let step = min(filled, bytes.count - filled)
            memcpy(base + filled, base, step)
            filled += step
        }
    }
}
