import Codecs
import Glibc
import Synchronization
import H5Model

/// One chunk after the filter pipeline, with the CRC-32 of its stored bytes (the journal
/// checks chunks it refers to by this).
package struct PackedChunk: Sendable, Hashable {
    package var chunk: EncodedChunk
    package var checksum: UInt32
}

/// Encodes one chunk of a byte dataset: the whole pipeline of a `Compression`, element size 1.
enum ChunkEncoder {
    /// `raw` is the full chunk (a partial last chunk already padded with zeros). nil when
    /// every byte is zero: such a chunk is not written, and reads back as the fill value.
    static func encode(_ raw: UnsafeRawBufferPointer, index: Int, compression: Compression,
                       workspaces: WorkspacePool) throws(StagingError) -> PackedChunk? {
        if isAllZero(raw) { return nil }
        let bytes: [UInt8]
        let workspace = workspaces.checkOut()
        defer { workspaces.checkIn(workspace) }
        do throws(CodecError) {
            bytes = try FilterPipeline.encode(raw, filters: compression.filters, elementSize: 1, workspace: workspace)
        } catch {
            throw StagingError(EIO, "chunk \(index): \(compression) encoding failed: \(error)")
        }
        return PackedChunk(chunk: EncodedChunk(index: index, bytes: bytes), checksum: Checksum.crc32(bytes))
    }

    /// Word-at-a-time zero test (chunks are mostly non-zero, so it usually stops at once).
    static func isAllZero(_ raw: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = raw.count
        while index + 8 <= count {
            if raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
            index += 8
        }
        while index < count {
            if raw[index] != 0 { return false }
            index += 1
        }
        return true
    }
}

/// Codec workspaces (libdeflate compressors) kept between chunks: allocating a compressor
/// per chunk costs more than compressing a small file. At most one per thread encoding at
/// once, so a handful.
final class WorkspacePool: Sendable {
    private let idle = Mutex<[CodecWorkspace]>([])

    func checkOut() -> CodecWorkspace {
        idle.withLock { $0.popLast() } ?? CodecWorkspace()
    }

    func checkIn(_ workspace: CodecWorkspace) {
        idle.withLock { $0.append(workspace) }
    }
}
