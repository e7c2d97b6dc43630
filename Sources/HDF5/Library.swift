import CHDF5
import H5Model
import Threads

/// The one process-wide gate around libhdf5 (after hdf5-rust's `sync.rs`).
///
/// libhdf5 1.10 is thread-safe only through its own global lock, which makes
/// each *call* atomic but not a *sequence* (open, query, close; or a failing
/// call followed by reading its error stack). Every sequence of calls in this
/// module therefore runs inside `HDF5Library.locked`. Rules:
/// - never call out of this module while holding the gate (closures passed in
///   contain only libhdf5 calls and plain value building);
/// - every `hid_t` opened inside a sequence is closed inside it (see `Handle`);
/// - the gate is not re-entrant: code running under it never calls `locked` again.
package enum HDF5Library {
    /// A plain pthread mutex, not `Synchronization.Mutex`: the gate is contended (the FUSE
    /// threads' lookups against a background pack), and on Linux `Mutex` spins and then
    /// takes a priority-inheritance futex, which cost the daemon about 5% of its CPU
    /// packing a tree on 2 cores; a pthread mutex just sleeps.
    private static let gate = ConditionLock()
    /// H5open, once (Swift runs a static's initialiser exactly once, thread-safely), after
    /// H5dont_atexit: libhdf5's exit handler closes every file still open, and a file whose
    /// close already failed (the working copy when the disk filled during the commit) made it
    /// crash in `H5F__close_cb`, so the daemon died by SIGSEGV after a failed commit. Nothing
    /// needs it: the writer closes explicitly at the commit, read-only files have nothing to
    /// flush, and after a failed commit the work directory is what `--recover` uses.
    private static let opened: Bool = {
        exitHandlerSkipped = H5dont_atexit() >= 0
        _ = H5open()
        MemoryBounds.limitFreeLists()
        return true
    }()

    /// Whether libhdf5 was kept from installing its exit handler (false: something called
    /// libhdf5 before the gate did, and it installed it). Tests check it.
    package private(set) nonisolated(unsafe) static var exitHandlerSkipped = false

    /// Initialises the library (tests read `exitHandlerSkipped` after it).
    package static func initialise() { locked {} }

    /// Runs `body` while holding the gate, initialising the library on first use.
    static func locked<Result, Failure: Error>(
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        gate.lock()
        defer { gate.unlock() }
        _ = opened
        // The automatic error printing is per thread in a thread-safe build (each
        // thread has its own error stack), so silence it on whatever thread is here.
        // It is two stores inside the library: cheap next to any real call.
        _ = H5Eset_auto2(h5m_e_default(), nil, nil)
        return try body()
    }

    /// Puts a directory first in libhdf5's filter plugin search path (like `HDF5_PLUGIN_PATH`),
    /// e.g. hdf5plugin's `plugins` directory, so `readBlock` can decode lz4 or bitshuffle.
    /// First, because libhdf5 1.10 gives up the whole search at a directory it cannot open,
    /// and its default directory usually does not exist.
    package static func addPluginPath(_ directory: String) throws(StoreError) {
        try locked { () throws(StoreError) in
            if H5PLprepend(directory) < 0 {
                throw ErrorStack.error(.invalidArgument, "cannot add plugin path \(directory)")
            }
        }
    }

    /// The directories libhdf5 searches for filter plugins, in search order.
    package static func pluginPaths() -> [String] {
        locked { () -> [String] in
            var count: UInt32 = 0
            guard H5PLsize(&count) >= 0 else { return [] }
            return (0..<count).compactMap { index -> String? in
                let length = H5PLget(index, nil, 0)
                guard length > 0 else { return nil }
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                guard H5PLget(index, &buffer, buffer.count) >= 0 else { return nil }
                return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
        }
    }
}
