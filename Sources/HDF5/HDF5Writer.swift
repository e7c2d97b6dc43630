import CHDF5
import Glibc
import H5Model
import Synchronization

/// One HDF5 file opened read-write through libhdf5: the write path's only door into a
/// container (DESIGN.md §2). The `+Links`, `+Attributes` and `+ByteDatasets` files hold
/// the operations.
///
/// Format: files are created with libver bounds (1.8, 1.10), which gives superblock
/// version 2, then the bounds are raised to (1.10, 1.10) on every open, so new objects use
/// the 1.10 format (version-2 object headers, single-chunk / extensible-array chunk
/// indexes) that libhdf5 1.10 and later read. Superblock 3 (what a 1.10 lower bound at
/// creation gives) is avoided on purpose: it records "open for writing" in the file, and a
/// file left so by a crash cannot be opened again without `h5clear`.
///
/// Gate and locks: every sequence of libhdf5 calls runs inside `HDF5Library.locked`, like
/// the reader's. `state` is taken only inside the gate, briefly (lock order: gate, then
/// `state`), so the gate stays the only lock anyone waits on for long.
///
/// Readers in the same process: libhdf5 shares one open file between every `H5Fopen` of
/// the same path, provided the first open was read-write. So open the writer first, then
/// any `HDF5Container` on the same path: the container sees every change at once, through
/// the same metadata cache. (A container opened first makes the writer's open fail: the
/// file is already open read-only.) `close()` refuses (`.busy`) while other file ids share
/// the file, because libhdf5 would keep it open and unflushed; close those readers first.
/// Chunk locations a reader learned stay valid until the writer deletes or replaces that
/// dataset; whoever caches them must forget them then.
package final class HDF5Writer: Sendable {
    package let filePath: String
    let fileID: hid_t
    let state: Mutex<State>

    struct State {
        var isOpen = true
        var nextPending: UInt64 = 1
        /// Anonymous datasets being filled (see `beginByteDataset`): token -> dataset id.
        var pending: [UInt64: PendingEntry] = [:]
        /// Typed datasets open for a raw write (see `beginRawWrite`): token -> dataset id.
        var rawArrays: [UInt64: hid_t] = [:]
    }

    struct PendingEntry {
        var dataset: hid_t
        var layout: ByteDatasetLayout
    }

    private init(filePath: String, fileID: hid_t) {
        self.filePath = filePath
        self.fileID = fileID
        self.state = Mutex(State())
    }

    deinit {
        let file = fileID
        HDF5Library.locked {
            let (wasOpen, entries) = state.withLock { state -> (Bool, [hid_t]) in
                defer { state.pending = [:]; state.rawArrays = [:]; state.isOpen = false }
                return (state.isOpen, state.pending.values.map(\.dataset) + state.rawArrays.values)
            }
            guard wasOpen else { return }
            for dataset in entries { _ = H5Dclose(dataset) }
            _ = H5Fclose(file)
        }
    }

    /// Creates a new container at `path`; fails if something is there unless `truncate`.
    package static func create(path: String, truncate: Bool = false) throws(StoreError) -> HDF5Writer {
        try HDF5Library.locked { () throws(StoreError) -> HDF5Writer in
            let access = try fileAccessList()
            let creation = try Handle(H5Pcreate(h5m_p_file_create()), H5Pclose, "file creation list")
            // Keep free space across closes: a working copy that replaces files session after
            // session would otherwise lose the space of every replaced dataset at each close.
            try check(H5Pset_file_space_strategy(creation.id, H5F_FSPACE_STRATEGY_FSM_AGGR, true, 1),
                      .invalidArgument, "\(path): file space strategy")
            let flags = truncate ? h5m_acc_trunc() : h5m_acc_excl()
            let file = H5Fcreate(path, flags, creation.id, access.id)
            guard file >= 0 else { throw ErrorStack.error(.accessDenied, "\(path): cannot create container") }
            return try finishOpen(path: path, file: file)
        }
    }

    /// Opens the existing container at `path` for writing.
    package static func open(path: String) throws(StoreError) -> HDF5Writer {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw StoreError(errno == EACCES ? .accessDenied : .notFound, "\(path): No such file")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw StoreError(.notHDF5, "\(path): not a regular file") }
        return try HDF5Library.locked { () throws(StoreError) -> HDF5Writer in
            guard H5Fis_hdf5(path) > 0 else {
                _ = ErrorStack.read()
                throw StoreError(.notHDF5, "\(path): not an HDF5 file")
            }
            let access = try fileAccessList()
            let file = H5Fopen(path, h5m_acc_rdwr(), access.id)
            guard file >= 0 else { throw ErrorStack.error(.accessDenied, "\(path): cannot open for writing") }
            return try finishOpen(path: path, file: file)
        }
    }

    /// Bounds (1.8, 1.10), file locking that tolerates filesystems without locks. Caller holds the gate.
    private static func fileAccessList() throws(StoreError) -> Handle {
        let access = try Handle(H5Pcreate(h5m_p_file_access()), H5Pclose, "file access list")
        try check(H5Pset_libver_bounds(access.id, H5F_LIBVER_V18, H5F_LIBVER_V110), .invalidArgument, "libver bounds")
        _ = H5Pset_file_locking(access.id, true, true)
        return access
    }

    /// Raises the bounds to 1.10 for new objects (see the type's comment). Caller holds the gate.
    private static func finishOpen(path: String, file: hid_t) throws(StoreError) -> HDF5Writer {
        guard H5Fset_libver_bounds(file, H5F_LIBVER_V110, H5F_LIBVER_V110) >= 0 else {
            let error = ErrorStack.error(.unsupported, "\(path): cannot use the 1.10 file format")
            _ = H5Fclose(file)
            throw error
        }
        return HDF5Writer(filePath: path, fileID: file)
    }

    /// Writes every change libhdf5 holds in memory to the file (not fsync).
    package func flush() throws(StoreError) {
        try withFile { (file) throws(StoreError) in
            try check(H5Fflush(file, H5F_SCOPE_GLOBAL), .unreadable, "\(filePath): flush")
        }
    }

    /// Closes the file: pending anonymous datasets are dropped, everything else is written.
    /// `.busy` while other file ids (readers) share the file; nothing is closed then.
    /// Closing twice is a no-op.
    package func close() throws(StoreError) {
        try HDF5Library.locked { () throws(StoreError) in
            guard state.withLock({ $0.isOpen }) else { return }
            let sharing = H5Fget_obj_count(fileID, UInt32(H5F_OBJ_FILE))
            if sharing > 1 {
                throw StoreError(.busy, "\(filePath): \(sharing - 1) other open file ids share this file; close them first")
            }
            let entries = state.withLock { state -> [hid_t] in
                defer { state.pending = [:]; state.rawArrays = [:]; state.isOpen = false }
                return state.pending.values.map(\.dataset) + state.rawArrays.values
            }
            for dataset in entries { _ = H5Dclose(dataset) }
            try check(H5Fclose(fileID), .unreadable, "\(filePath): close")
        }
    }

    /// How many objects (datasets, groups, datatypes, attributes) are open in the file; the
    /// pending datasets of `beginByteDataset` count. 0 between calls otherwise.
    package func openObjectCount() -> Int {
        (try? withFile { file in Int(H5Fget_obj_count(file, h5m_f_obj_local_objects())) }) ?? 0
    }

    /// Runs `body` with the file id under the gate; `.invalidArgument` once closed.
    @discardableResult
    func withFile<R>(_ body: (hid_t) throws(StoreError) -> R) throws(StoreError) -> R {
        try HDF5Library.locked { () throws(StoreError) -> R in
            guard state.withLock({ $0.isOpen }) else {
                throw StoreError(.invalidArgument, "\(filePath): the writer is closed")
            }
            return try body(fileID)
        }
    }
}
