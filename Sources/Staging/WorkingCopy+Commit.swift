import Glibc
import H5Model
import HDF5

/// What a commit did.
package struct CommitReport: Sendable, Hashable {
    package enum Outcome: String, Sendable { case unchanged, committed, committedInPlace }
    package var outcome: Outcome
    /// Closed files that were still waiting and got packed by the commit.
    package var packedAtCommit: Int
    /// Files still open for writing at commit: never closed, so not committed.
    package var discardedOpenFiles: Int
}

extension WorkingCopy {
    /// Makes the session's changes the container's content:
    /// 1. packs closed files still waiting, drops spools of files never closed;
    /// 2. closes the working copy (EBUSY while readers of it are open: close them first);
    /// 3. checks the container is still the file the session copied (ESTALE otherwise,
    ///    unless `force`: someone else changed it, and renaming would lose their change);
    /// 4. records `committing` (with the working copy's identity) and fsyncs the journal;
    /// 5. fsyncs the working copy, renames it over the container, fsyncs the directory;
    /// 6. removes the work directory.
    /// A crash before 5's rename leaves the container as it was; after it, the new content.
    /// With -o inplace: close, fsync, remove the work directory.
    /// `progress` hears where it stands (steps 1, 2 and 5); by default it goes to the work
    /// directory's progress record, which `h5mount -u` shows (`ProgressRecord`), and which
    /// goes with the work directory, or is removed when the commit fails.
    @discardableResult
    package func commit(force: Bool = false, progress: CommitProgressSink? = nil) throws(StagingError) -> CommitReport {
        guard let progress else {
            let record = ProgressRecord(directory: directory)
            do throws(StagingError) {
                return try commit(force: force, progress: record.sink)
            } catch {
                record.remove()
                throw error
            }
        }
        let packed = try packAllClosed(reporting: progress)
        return try state.withLock { (state) throws(StagingError) -> CommitReport in
            guard let session = state.session else {
                return CommitReport(outcome: .unchanged, packedAtCommit: 0, discardedOpenFiles: 0)
            }
            // From here on, spool operations wait for the state lock (and then find the
            // session committed), or, when the commit fails, go on with the session again.
            let openSpools = try files.withLock { (files) throws(StagingError) -> [Spool] in
                guard files.activePacks == 0, files.closedSpools.isEmpty else {
                    throw StagingError(EBUSY, "\(directory.container): files are still being packed")
                }
                files.session = nil
                defer { files.openSpools = [:] }
                return Array(files.openSpools.values)
            }
            var committed = false
            defer { if !committed { files.withLock { $0.session = session } } }
            // Files never closed are not committed. Dropped first: a seeded spool may hold a
            // reader of the working copy, which would keep the writer from closing.
            let discarded = openSpools.count
            for spool in openSpools { spool.remove() }
            let progress = countingFilesStored(state.filesStored, progress)
            progress(CommitProgress(.closing))
            try store { () throws(StoreError) in try session.writer.close() }
            let outcome: CommitReport.Outcome
            if session.start.inplace {
                try SteppedSync.sync(directory.container, progress: progress)
                outcome = .committedInPlace
            } else {
                try replaceContainer(session, force: force, progress: progress)
                outcome = .committed
            }
            session.journal.close()
            spoolFiles.closeAll()
            try directory.remove()
            close(session.lockDescriptor)
            state.session = nil
            state.finished = true
            committed = true
            return CommitReport(outcome: outcome, packedAtCommit: packed, discardedOpenFiles: discarded)
        }
    }

    /// Steps 3 to 5 of `commit` (also recovery's last step).
    func replaceContainer(_ session: Session, force: Bool, progress: CommitProgressSink) throws(StagingError) {
        try Self.replaceContainer(directory, journal: session.journal, original: session.start.original, force: force,
                                  progress: progress)
    }

    static func replaceContainer(_ directory: WorkDirectory, journal: Journal, original: FileIdentity?,
                                 force: Bool, progress: CommitProgressSink) throws(StagingError) {
        let current = try SystemCalls.identity(directory.container)
        if !force && current != original {
            throw StagingError(ESTALE, "\(directory.container) changed on disk since this session began; "
                               + "the changes are kept in \(directory.path) (commit with force to overwrite)")
        }
        guard let working = try SystemCalls.identity(directory.workingPath) else {
            throw StagingError(ENOENT, "\(directory.workingPath): working copy missing")
        }
        try journal.append([.committing(working)])
        try journal.sync()
        try SteppedSync.sync(directory.workingPath, progress: progress)
        progress(CommitProgress(.replacing))
        if rename(directory.workingPath, directory.container) != 0 {
            throw .system("rename \(directory.workingPath) to \(directory.container)")
        }
        try SystemCalls.fsyncDirectory(directory.containerDirectory)
    }

    static func fsyncFile(_ path: String) throws(StagingError) {
        let descriptor = try SystemCalls.open(path, O_RDONLY)
        defer { close(descriptor) }
        try SystemCalls.fsync(descriptor, path)
    }

    /// Makes everything recorded so far survive a power loss too (a process crash cannot lose
    /// it anyway): fsyncs the working copy's raw chunks, the waiting spools and the journal.
    package func sync() throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            guard let session = state.session else { return }
            for spool in files.withLock({ $0.closedSpools.values.map(\.spool) }) { try spool.sync() }
            try Self.fsyncFile(session.writer.filePath)
            try session.journal.sync()
        }
    }

    /// Throws away unfinished work of a crashed session (the container stays as it is).
    /// EBUSY while a live session holds it.
    package static func discard(container: String) throws(StagingError) {
        let directory = WorkDirectory(container: container)
        guard directory.exists else { return }
        let lock = try directory.acquireLock()
        defer { close(lock) }
        try directory.remove()
    }
}
