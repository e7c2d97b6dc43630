import CHDF5
import Glibc
import H5Model
import Synchronization

/// One HDF5 file opened read-only through libhdf5, answering `ContainerReader`.
///
/// Holds only the file id and a dataset-access property list, both immutable
/// and closed in `deinit`; every method is one gated sequence that opens what
/// it needs, builds plain values, and closes everything before returning.
/// The `+Links`, `+Dataset`, `+Attributes` and `+Reads` files hold the methods.
package final class HDF5Container: ContainerReader {
    package let filePath: String
    let fileID: hid_t
    /// Dataset access: virtual-dataset sources and external raw files named
    /// relatively resolve against the container's directory, not the process cwd
    /// (the daemon runs in /).
    let datasetAccess: hid_t
    /// nil: libhdf5 runs every request in this process. Else requests are tried in a forked
    /// child first (`HDF5Container+Containment`): a hostile file cannot kill the daemon.
    package let containment: Containment?
    /// Set by `close()`; later calls fail inside libhdf5 with an invalid id (an error, not a crash).
    private let isClosed = Mutex(false)

    private init(filePath: String, fileID: hid_t, datasetAccess: hid_t, containment: Containment?) {
        self.filePath = filePath
        self.fileID = fileID
        self.datasetAccess = datasetAccess
        self.containment = containment
    }

    deinit { close() }

    /// Closes the file now rather than when the last reference goes: a writer sharing the
    /// file (the working copy) cannot close, and so commit, while readers hold it open.
    package func close() {
        let first = isClosed.withLock { closed -> Bool in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        let file = fileID, access = datasetAccess
        HDF5Library.locked {
            _ = H5Pclose(access)
            _ = H5Fclose(file)
        }
    }

    /// Opens `path` read-only (with `swmr`, as a SWMR reader of a file being written);
    /// with `containment`, every later request is tried in a forked child first.
    package static func open(path: String, swmr: Bool = false,
                             containment: Containment? = nil) throws(StoreError) -> HDF5Container {
        let absolute = try checkedRegularFile(path)
        let directory = absolute.parentDirectory
        return try HDF5Library.locked { () throws(StoreError) -> HDF5Container in
            guard H5Fis_hdf5(absolute) > 0 else {
                _ = ErrorStack.read()
                throw StoreError(.notHDF5, "\(path): not an HDF5 file")
            }
            let fileAccess = try Handle(H5Pcreate(h5m_p_file_access()), H5Pclose, "file access list")
            // Filesystems without lock support (some network mounts) must not make opening fail.
            _ = H5Pset_file_locking(fileAccess.id, true, true)
            TruncatedFiles.allow(in: fileAccess.id)
            MemoryBounds.limitMetadataCache(fileAccess.id)
            let flags = h5m_acc_rdonly() | (swmr ? h5m_acc_swmr_read() : 0)
            // A file libhdf5 cannot even open and close without crashing is refused whole:
            // a crash inside H5Fclose would come later, when the mount closes it.
            if let containment, containment.tries {
                containment.countTrial()
                if let failure = OpenTrial.run(timeLimit: containment.timeLimit,
                                               open: { H5Fopen(absolute, flags, fileAccess.id) },
                                               close: { if $0 >= 0 { _ = H5Fclose($0) } }) {
                    throw StoreError(.unreadable, "\(path): damaged HDF5 file: \(failure.message)")
                }
            }
            let file = H5Fopen(absolute, flags, fileAccess.id)
            guard file >= 0 else {
                let entries = ErrorStack.read()
                if let refusal = OpenRefusal.message(entries, path: path, swmr: swmr) {
                    throw StoreError(.busy, refusal)
                }
                // The signature is there but the file does not open: damaged (often truncated), not foreign.
                throw ErrorStack.error(.unreadable, "\(path): damaged HDF5 file", entries: entries)
            }
            let access = H5Pcreate(h5m_p_dataset_access())
            guard access >= 0, H5Pset_virtual_prefix(access, directory) >= 0,
                  H5Pset_efile_prefix(access, directory) >= 0 else {
                let error = ErrorStack.error(.unreadable, "\(path): dataset access list")
                if access >= 0 { _ = H5Pclose(access) }
                _ = H5Fclose(file)
                throw error
            }
            return HDF5Container(filePath: absolute, fileID: file, datasetAccess: access, containment: containment)
        }
    }

    /// How many groups, datasets, datatypes and attributes opened through this container
    /// are still open. Every method closes what it opened, so between calls this is 0
    /// (tests check it after error paths too).
    package func openObjectCount() -> Int {
        let file = fileID
        return HDF5Library.locked { Int(H5Fget_obj_count(file, h5m_f_obj_local_objects())) }
    }

    /// Whether `path` is a readable regular file with an HDF5 superblock.
    package static func isHDF5(path: String) -> Bool {
        guard let absolute = try? checkedRegularFile(path) else { return false }
        return HDF5Library.locked {
            let answer = H5Fis_hdf5(absolute) > 0
            _ = ErrorStack.read()
            return answer
        }
    }

    /// The absolute path of a readable regular file, or the error a user expects.
    private static func checkedRegularFile(_ path: String) throws(StoreError) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            switch code {
            case ENOENT, ENOTDIR: throw StoreError(.notFound, "\(path): No such file")
            case EACCES: throw StoreError(.accessDenied, "\(path): Permission denied")
            default: throw StoreError(.unreadable, "\(path): " + String(cString: strerror(code)))
            }
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw StoreError(.notHDF5, "\(path): is a directory, not an HDF5 file")
        }
        // A FIFO or device would block or mislead the superblock probe.
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw StoreError(.notHDF5, "\(path): not a regular file, not an HDF5 file")
        }
        if access(path, R_OK) != 0 {
            throw StoreError(.accessDenied, "\(path): Permission denied")
        }
        guard let resolved = realpath(path, nil) else {
            throw StoreError(.unreadable, "\(path): " + String(cString: strerror(errno)))
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension String {
    /// "/a/b/c.h5" -> "/a/b"; "/c.h5" -> "/".
    fileprivate var parentDirectory: String {
        guard let slash = lastIndex(of: "/") else { return "." }
        return slash == startIndex ? "/" : String(self[..<slash])
    }
}
