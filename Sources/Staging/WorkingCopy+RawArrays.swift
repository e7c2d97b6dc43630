import H5Model
import HDF5

/// Writes into typed datasets (DESIGN.md §2): a file's written bytes wait in a spool while
/// it is open; at its close the change is applied to the dataset and journaled. The spool
/// is then kept (sealed) until the commit, because the journal's record points at it: a
/// replay after a crash rewrites the same bytes (docs/write-path.md, "Typed datasets").
extension WorkingCopy {
    /// Why the dataset at `path` cannot take raw writes (nil: it can). Starts the session.
    package func rawWriteRefusal(at path: H5Path) throws(StagingError) -> RawWriteRefusal? {
        let session = try state.withLock { (state) throws(StagingError) -> Session in try startedLocked(&state) }
        return try store { () throws(StoreError) -> RawWriteRefusal? in try session.writer.rawWriteRefusal(at: path) }
    }

    /// Applies `change` (its bytes in `spool`, nil when only the size changed) and records it.
    /// Opening the dataset, changing its extent and recording happen under the state lock,
    /// so the record sits in the journal's order of changes; the elements are then written
    /// outside it, piece by piece (other changes go on meanwhile; the dataset stays open, so
    /// a rename of it cannot get in the way).
    package func writeRawArray(_ change: RawArrayWrite, from spool: Spool?) throws(StagingError) {
        try spool?.seal()
        let (writer, begun) = try state.withLock { (state) throws(StagingError) -> (HDF5Writer, RawArrayApply.Begun) in
            let session = try startedLocked(&state)
            let begun = try RawArrayApply.begin(change, session.writer)
            do throws(StagingError) {
                try files.withLock { (files) throws(StagingError) in
                    try appendRecords([.rawArrayWrite(change)], session)
                    // Kept for a replay; no longer a file being written (commit would drop it as unclosed).
                    if let spool { files.openSpools[spool.id] = nil }
                }
            } catch {
                RawArrayApply.abandon(begun, session.writer)
                throw error
            }
            return (session.writer, begun)
        }
        try RawArrayApply.fill(change, begun, source: spool, writer)
    }
}
