import CHDF5
import H5Model

/// `-o swmr`: seeing what a SWMR writer appended.
extension HDF5Container {
    /// The dataset as the file says now. A SWMR reader's metadata cache keeps a dataset's
    /// object header and chunk index (libhdf5 does not re-read them when the file changes),
    /// so `H5Drefresh` evicts and reloads them first; every later call (the chunk lookups of
    /// the chunk engine included) sees the refreshed state.
    /// Contained, it is tried every time (the file changed since any earlier trial).
    package func refreshedDataset(at path: H5Path) throws(StoreError) -> DatasetInfo {
        try contained(.init(.dataset, path), remember: false) { () throws(StoreError) -> DatasetInfo in
            do {
                let dataset = try openDataset(path)
                try check(H5Drefresh(dataset.id), .unreadable, "\(path): refresh")
            }
            return try datasetLocked(path)
        }
    }
}

/// Why libhdf5 would not open a file another process is writing, in words that say what to do.
enum OpenRefusal {
    /// The message for a failed `H5Fopen`, when the error stack says the file is being written;
    /// nil for any other failure.
    static func message(_ entries: [ErrorStack.Entry], path: String, swmr: Bool) -> String? {
        let texts = entries.map(\.description)
        if texts.contains(where: { $0.contains("unable to lock the file") }) {
            // A writer not (yet) in SWMR mode holds the file lock: nobody may read until it closes.
            return "\(path): open for writing by another process, which holds its lock (not a SWMR writer); "
                + "-o swmr follows only a writer in SWMR mode"
        }
        if texts.contains(where: { $0.contains("already open for write") }) {
            // Version-3 superblocks record "open for write (SWMR write)" in their status flags.
            return swmr
                ? "\(path): marked open for writing by a writer not in SWMR mode (or one that crashed); "
                    + "if none is left, `h5clear -s \(path)` clears the mark"
                : "\(path): open for writing by another process (a SWMR writer): mount with -o swmr to follow it; "
                    + "if no writer is left (it crashed), `h5clear -s \(path)` clears the mark"
        }
        return nil
    }
}
