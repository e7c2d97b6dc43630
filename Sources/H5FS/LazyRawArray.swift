import ChunkEngine
import Glibc
import H5Model
import Synchronization

/// A byte dataset's content whose full description (layout, filters, fill value) is
/// read on the first read, not when it is listed: `ls -lR` and `find` over a packed
/// tree then cost libhdf5 only the type and the shape of each file.
final class LazyRawArray: Sendable {
    let byteCount: UInt64
    private let reader: ContainerReader
    private let path: H5Path
    private let engine: ChunkEngine
    /// How a virtual dataset's sources are found (nil: read through libhdf5).
    private let virtualSources: (any VirtualSourceFiles)?
    private let dataset = Mutex<RawArrayDataset?>(nil)

    init(byteCount: UInt64, reader: ContainerReader, path: H5Path, engine: ChunkEngine,
         virtualSources: (any VirtualSourceFiles)? = nil) {
        self.byteCount = byteCount; self.reader = reader; self.path = path; self.engine = engine
        self.virtualSources = virtualSources
    }

    /// The chunk engine's view of the dataset, made once (two first readers may both
    /// describe it; the first one stored wins).
    func resolved() throws(FSError) -> RawArrayDataset {
        if let known = dataset.withLock({ $0 }) { return known }
        let info: DatasetInfo
        do {
            info = try reader.dataset(at: path)
        } catch {
            throw FSError(error, context: path.description)
        }
        let made: RawArrayDataset
        do {
            made = try engine.dataset(reader: reader, path: path, info: info, virtualSources: virtualSources)
        } catch {
            throw FSError(EIO, "\(path): \(error.message)")
        }
        guard made.byteCount == byteCount else {
            throw FSError(EIO, "\(path): dataset changed size from \(byteCount) to \(made.byteCount) bytes")
        }
        return dataset.withLock { slot in
            if let first = slot { return first }
            slot = made
            return made
        }
    }
}
