import Glibc
import H5Model
import HDF5

/// What packing one file did.
package struct PackResult: Sendable, Hashable {
    package var layout: ByteDatasetLayout
    /// Chunks written (all-zero chunks are not).
    package var chunksWritten: Int
    /// Bytes of the written chunks after compression.
    package var storedBytes: UInt64
    /// The linked dataset, when the pack says (`WorkingCopy.packFile` does).
    package var linked: LinkedDataset? = nil
}

/// Turns a closed file (a sealed spool) into a dataset: cuts it into chunks, compresses
/// them on all cores, and writes them with direct chunk write, one dataset creation per file.
///
/// A file of one chunk (most files) is encoded on the caller's thread: packs of different
/// files running on different threads (the FUSE session's) then use the cores. A bigger
/// file streams through a bounded pipeline: the caller reads chunk i into one of
/// `2 x threads` slots and hands it to the pool, and writes the encoded chunks in order as
/// they complete, so at most that many raw and encoded chunks are in memory at once.
package final class Packer: Sendable {
    package let compression: Compression
    package let chunkSize: Int
    private let pool: WorkerPool
    private let workspaces = WorkspacePool()

    package init(compression: Compression = .standard, chunkSize: Int = 1 << 20, pool: WorkerPool = WorkerPool()) {
        self.compression = compression
        self.chunkSize = min(max(chunkSize, 1), ByteDatasetLayout.chunkSizeLimit)
        self.pool = pool
    }

    /// The dataset layout for a file of `size` bytes.
    package func layout(forSize size: UInt64) -> ByteDatasetLayout {
        ByteDatasetLayout(logicalSize: size, preferredChunkSize: chunkSize, compression: compression)
    }

    /// Packs `source` into a new dataset linked at `path` (replacing a link there when
    /// `replacing`). Not journaled: `WorkingCopy.packFile` is the journaled form.
    @discardableResult
    package func pack(_ source: some ByteSource, into writer: HDF5Writer, at path: H5Path,
                      replacing: Bool = false) throws(StagingError) -> PackResult {
        let layout = layout(forSize: source.size)
        if layout.chunkCount <= 1 {
            let chunks = try encodeSingle(source, layout).map { [$0] } ?? []
            try store { () throws(StoreError) in
                try writer.writeByteDataset(at: path, chunks: chunks.map(\.chunk), layout: layout, replacing: replacing)
            }
            return PackResult(layout: layout, chunksWritten: chunks.count,
                              storedBytes: chunks.reduce(0) { $0 + UInt64($1.chunk.bytes.count) })
        }
        let pending = try store { () throws(StoreError) in try writer.beginByteDataset(layout: layout) }
        do throws(StagingError) {
            var result = PackResult(layout: layout, chunksWritten: 0, storedBytes: 0)
            try encodeChunks(of: source, layout: layout) { (batch) throws(StagingError) in
                try store { () throws(StoreError) in try writer.writeChunks(batch.map(\.chunk), to: pending) }
                result.chunksWritten += batch.count
                result.storedBytes += batch.reduce(0) { $0 + UInt64($1.chunk.bytes.count) }
            }
            try store { () throws(StoreError) in try writer.link(pending, at: path, replacing: replacing) }
            return result
        } catch {
            writer.abandon(pending)
            throw error
        }
    }

    /// The one chunk of a file no bigger than a chunk, encoded here; nil when empty or all zero.
    package func encodeSingle(_ source: some ByteSource, _ layout: ByteDatasetLayout) throws(StagingError) -> PackedChunk? {
        guard layout.chunkCount == 1 else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: layout.chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        try readChunk(source, layout, 0, into: buffer)
        return try ChunkEncoder.encode(UnsafeRawBufferPointer(buffer), index: 0, compression: layout.compression,
                                       workspaces: workspaces)
    }

    /// Encodes every chunk of `source` on the pool and hands the non-zero ones to `deliver`
    /// in chunk order (from this thread). At most `2 x threads` chunks are in flight. On an
    /// error, waits for the chunks in flight, then throws.
    package func encodeChunks(of source: some ByteSource, layout: ByteDatasetLayout,
                              deliver: (_ batch: [PackedChunk]) throws(StagingError) -> Void) throws(StagingError) {
        let count = layout.chunkCount
        guard count > 0 else { return }
        let window = min(count, 2 * pool.threadCount)
        let slots = (0..<window).map { _ in Slot(capacity: layout.chunkSize) }
        defer { for slot in slots { slot.buffer.deallocate() } }
        var inFlight: [OneShot<Result<PackedChunk?, StagingError>>?] = Array(repeating: nil, count: window)
        var failure: StagingError?
        var next = 0       // next chunk to read and submit
        var delivered = 0  // next chunk to hand over

        func collect(_ index: Int) {
            guard let waiting = inFlight[index % window] else { return }
            inFlight[index % window] = nil
            let outcome = waiting.wait()
            guard failure == nil else { return }
            switch outcome {
            case .success(let packed):
                do throws(StagingError) {
                    if let packed { try deliver([packed]) }
                } catch {
                    failure = error
                }
            case .failure(let error):
                failure = error
            }
        }

        while next < count && failure == nil {
            if next - delivered == window {
                collect(delivered)
                delivered += 1
                continue
            }
            let slot = slots[next % window]
            do throws(StagingError) {
                try readChunk(source, layout, next, into: slot.buffer)
            } catch {
                failure = error
                break
            }
            let done = OneShot<Result<PackedChunk?, StagingError>>()
            inFlight[next % window] = done
            let index = next, compression = layout.compression, workspaces = self.workspaces
            pool.submit {
                do throws(StagingError) {
                    done.fulfill(.success(try ChunkEncoder.encode(UnsafeRawBufferPointer(slot.buffer), index: index,
                                                                  compression: compression, workspaces: workspaces)))
                } catch {
                    done.fulfill(.failure(error))
                }
            }
            next += 1
        }
        // Drain: every submitted job must finish before its slot is freed.
        while delivered < next {
            collect(delivered)
            delivered += 1
        }
        if let failure { throw failure }
    }

    /// Reads chunk `index` into `buffer` (the full chunk size), zero-padding past the end of the file.
    private func readChunk(_ source: some ByteSource, _ layout: ByteDatasetLayout, _ index: Int,
                           into buffer: UnsafeMutableRawBufferPointer) throws(StagingError) {
        let range = layout.byteRange(ofChunk: index)
        let length = Int(range.count)
        let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]), at: range.lowerBound)
        guard got == length else {
            throw StagingError(EIO, "chunk \(index): read \(got) of \(length) bytes (the file shrank while packing)")
        }
        if length < buffer.count, let base = buffer.baseAddress {
            memset(base + length, 0, buffer.count - length)
        }
    }
}

/// One raw chunk buffer of the pipeline. The buffer is written by the packing thread, then
/// read by one worker; the `OneShot` hand-off orders the two.
private final class Slot: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    init(capacity: Int) { buffer = .allocate(byteCount: capacity, alignment: 64) }
}
