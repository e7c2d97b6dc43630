import ChunkEngine
import Glibc

extension FilesystemOperations {
    /// Filesystems without memory of their own to lend (test doubles): always a copy.
    package func withReadSegments<Result>(_ node: NodeID, handle: UInt64, offset: UInt64, size: Int,
                                          _ body: ([UnsafeRawBufferPointer]) -> Result) throws(FSError) -> Result? {
        nil
    }
}

extension ContainerFilesystem {
    /// Reads of datasets whose decoded tiles the chunk engine can lend (frames, 1-D chunks,
    /// long rows; RawArrayDataset.withSegments), on a read-only mount: the FUSE reply is
    /// written from the tiles themselves. Writable mounts always copy (the write path's
    /// gates and spools decide what a read sees there).
    package func withReadSegments<Result>(_ node: NodeID, handle: UInt64, offset: UInt64, size: Int,
                                          _ body: ([UnsafeRawBufferPointer]) -> Result) throws(FSError) -> Result? {
        guard writes == nil, size > 0 else { return nil }
        guard case .dataset(_, let path, let content, _) = followed(try existing(node)).kind else { return nil }
        let dataset: RawArrayDataset
        switch content {
        case .rawArray(let known):
            dataset = known
        case .lazyRawArray(let lazy):
            do {
                dataset = try lazy.resolved()
            } catch {
                logFailure("read error", error)   // EIO: logged once, by the bridge's reply
                throw error
            }
        case .rendered:
            return nil
        }
        do {
            return try dataset.withSegments(offset: offset, count: size, body)
        } catch {
            let failure = FSError(EIO, "\(path): \(error.message)")
            logFailure("read error", failure)
            throw failure
        }
    }
}
