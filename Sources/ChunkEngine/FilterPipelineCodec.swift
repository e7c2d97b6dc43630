import Codecs
import H5Model
import Synchronization

/// The engine's default codec: the Codecs filter pipeline (deflate, shuffle, fletcher32,
/// LZ4, bitshuffle). Each decode borrows a `CodecWorkspace` from a small pool, so scratch
/// buffers are reused across chunks (fresh memory is slow to touch); the pool's lock is
/// held only to take or return one, never while decoding.
package final class FilterPipelineCodec: ChunkCodec {
    private let pool = Mutex<[CodecWorkspace]>([])
    /// Workspaces kept for reuse; more concurrent decoders than this allocate their own.
    private let keep: Int

    package init(keep: Int = 8) { self.keep = keep }

    package func canDecode(_ filters: [FilterSpec]) -> Bool { FilterPipeline.canDecode(filters) }

    package func decode(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], filterMask: UInt32,
                        elementSize: Int, into output: UnsafeMutableRawBufferPointer) throws(ChunkCodecError) {
        let workspace = pool.withLock { $0.popLast() } ?? CodecWorkspace()
        defer { pool.withLock { if $0.count < keep { $0.append(workspace) } } }
        do throws(CodecError) {
            try FilterPipeline.decode(chunk, filters: filters, filterMask: filterMask, elementSize: elementSize,
                                      into: output, workspace: workspace)
        } catch {
            throw ChunkCodecError(error.message)
        }
    }
}
