import H5Model
import HDF5

/// Which readers are contained (libhdf5 requests tried in a forked child first;
/// docs/hdf5-store.md, "Containment").
///
/// - The container of a read-only mount, the original of a writable one until its first
///   change, and every externally linked file: contained, each with its own record.
/// - The working copy of a writable mount (and the container with `-o inplace`) is shared
///   in this process with the writer, whose unflushed metadata a child could write out:
///   not tried. It keeps refusing what the original's trials found bad (it began as a copy).
extension ContainerFilesystem {
    static func opener(timeLimit: Double?, swmr: Bool = false) -> ContainerOpener {
        { path throws(StoreError) in
            try HDF5Container.open(path: path, swmr: swmr, containment: timeLimit.map { Containment(timeLimit: $0) })
        }
    }

    /// The reader of the working copy at `path`, taking over `previous`'s known failures.
    static func workingCopyReader(at path: String, after previous: ContainerReader) throws(StoreError) -> ContainerReader {
        let known = (previous as? HDF5Container)?.containment
        return try HDF5Container.open(path: path, containment: known.map { Containment.refusing(failuresOf: $0) })
    }
}
