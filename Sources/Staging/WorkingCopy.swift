import Glibc
import H5Model
import HDF5
import Synchronization

/// Mount options that shape the write path.
package struct WorkingCopyOptions: Sendable, Hashable {
    package var compression: Compression
    package var chunkSize: Int
    /// `-o inplace`: write into the container itself; no copy, no crash guarantee.
    package var inplace: Bool
    /// Threads that compress chunks of big files.
    package var packThreads: Int

    package init(compression: Compression = .standard, chunkSize: Int = 1 << 20, inplace: Bool = false,
                 packThreads: Int = WorkerPool.onlineCores) {
        self.compression = compression
        self.chunkSize = chunkSize
        self.inplace = inplace
        self.packThreads = packThreads
    }
}

/// The write path's session with one container (DESIGN.md §2, docs/write-path.md).
///
/// Nothing happens on disk until the first change: then the work directory is made, the
/// container is copied to `working.h5` (reflink when possible), and the journal begins.
/// From then on every change goes to the working copy through `HDF5Writer` and is
/// recorded in the journal, in order, under one lock (`state`), so the journal replays to
/// the same result. `commit()` renames the working copy over the container; until then
/// the container is untouched, whatever happens to the process.
///
/// The filesystem layer calls, per operation: `createGroup`, `deleteLink`, `moveLink`,
/// `createSoftLink`, `createHardLink`, `setAttribute`, `deleteAttribute`, `changeAttributes`; per file written:
/// `makeSpool`, writes to the spool, `closeFile`, `packFile` (or `moveUnpacked`,
/// `dropSpool`). Readers of the working copy open `workingPath` after `start()`.
///
/// Locks: `state` is held across each change and its journal record; it is taken before
/// the HDF5 gate and the journal's lock, never after. Packing holds it only to begin and
/// to link; compression and chunk writes run without it.
package final class WorkingCopy: Sendable {
    package let directory: WorkDirectory
    package let options: WorkingCopyOptions
    let packer: Packer
    let state: Mutex<State>
    /// Spool files of packed files, emptied, for the next spools (SpoolFileReserve).
    let spoolFiles = SpoolFileReserve()

    struct State {
        var session: Session?
        var finished = false
        var nextSpool: UInt64 = 1
        var nextToken: UInt64 = 1
        var activePacks = 0
        /// Spools made and not yet closed.
        var openSpools: [UInt64: Spool] = [:]
        /// Closed, not yet packed: the spool, the file's current path, and the attributes its
        /// dataset gets when packed.
        var closedSpools: [UInt64: (spool: Spool, path: H5Path, attributes: [NamedValue])] = [:]
        /// A change reached the working copy but not the journal: refuse further changes.
        var journalFailure: StagingError?
        /// Files packed into the working copy this session (a file stored twice counts twice):
        /// what the commit's progress calls the files it commits.
        var filesStored = 0
    }

    /// What exists once the session started.
    final class Session: Sendable {
        let writer: HDF5Writer
        let journal: Journal
        let lockDescriptor: Int32
        let start: SessionStart

        init(writer: HDF5Writer, journal: Journal, lockDescriptor: Int32, start: SessionStart) {
            self.writer = writer; self.journal = journal; self.lockDescriptor = lockDescriptor; self.start = start
        }
    }

    /// Prepares a session for `container` (which need not exist: the first change creates
    /// it). EBUSY when unfinished work from an earlier session is there (see `leftover`)
    /// or another session holds the container.
    package init(container: String, options: WorkingCopyOptions = WorkingCopyOptions()) throws(StagingError) {
        directory = WorkDirectory(container: container)
        self.options = options
        packer = Packer(compression: options.compression, chunkSize: options.chunkSize,
                        pool: WorkerPool(threads: options.packThreads))
        state = Mutex(State())
        if let leftover = WorkingCopy.leftover(container: container) {
            throw StagingError(EBUSY, leftover.summary)
        }
    }

    deinit {
        // Not committed: leave the work directory for `recover`, release everything else.
        state.withLock { state in
            spoolFiles.closeAll()
            guard let session = state.session else { return }
            state.session = nil
            try? session.writer.close()
            session.journal.close()
            close(session.lockDescriptor)
        }
    }

    /// The file readers should open to see the changes: the working copy once started.
    package var workingPath: String? {
        state.withLock { state in
            guard let session = state.session else { return nil }
            return session.writer.filePath
        }
    }

    package var isStarted: Bool { state.withLock { $0.session != nil } }

    /// Starts the session now (the first change does it anyway).
    package func start() throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in _ = try startedLocked(&state) }
    }

    // MARK: namespace and attributes

    package func createGroup(at path: H5Path) throws(StagingError) {
        try change(.createGroup(path)) { (writer) throws(StoreError) in try writer.createGroup(at: path) }
    }

    package func deleteLink(at path: H5Path) throws(StagingError) {
        try change(.deleteLink(path)) { (writer) throws(StoreError) in try writer.deleteLink(at: path) }
    }

    /// Renames a link (over an existing one too). Closed files not yet packed below `source`
    /// move with it.
    package func moveLink(from source: H5Path, to destination: H5Path) throws(StagingError) {
        try change(.moveLink(from: source, to: destination)) { (writer) throws(StoreError) in
            try writer.moveLink(from: source, to: destination)
        } then: { state in
            for (id, entry) in state.closedSpools {
                if let moved = entry.path.replacingPrefix(source, with: destination) {
                    state.closedSpools[id]?.path = moved
                }
            }
        }
    }

    package func createSoftLink(at path: H5Path, target: String) throws(StagingError) {
        try change(.softLink(path, target: target)) { (writer) throws(StoreError) in
            try writer.createSoftLink(at: path, target: target)
        }
    }

    /// A hard link to a packed object (pack a closed file first: a spool has no object yet).
    package func createHardLink(at path: H5Path, to existing: H5Path) throws(StagingError) {
        try change(.hardLink(path, existing: existing)) { (writer) throws(StoreError) in
            try writer.createHardLink(at: path, to: existing)
        }
    }

    package func setAttribute(of path: H5Path, name: String, value: JSONValue) throws(StagingError) {
        try change(.setAttribute(path, name: name, value: value)) { (writer) throws(StoreError) in
            try writer.setAttribute(of: path, name: name, value: value)
        }
    }

    package func deleteAttribute(of path: H5Path, name: String) throws(StagingError) {
        try change(.deleteAttribute(path, name: name)) { (writer) throws(StoreError) in
            try writer.deleteAttribute(of: path, name: name)
        }
    }

    /// Several attribute changes of one object, all or nothing, as one record.
    package func changeAttributes(of path: H5Path, _ edits: [AttributeEdit]) throws(StagingError) {
        try change(.changeAttributes(path, edits)) { (writer) throws(StoreError) in
            try writer.changeAttributes(of: path, edits)
        }
    }

    /// Applies one change and records it, under the state lock. A change libhdf5 refused is
    /// not recorded. A change the journal could not record stops all further changes.
    func change(_ record: JournalRecord, _ apply: (HDF5Writer) throws(StoreError) -> Void,
                then update: (inout State) -> Void = { _ in }) throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            let session = try startedLocked(&state)
            try store { () throws(StoreError) in try apply(session.writer) }
            try appendRecords([record], session, &state)
            update(&state)
        }
    }

    /// Appends records; on failure remembers it so no later change goes unrecorded. Caller holds `state`.
    func appendRecords(_ records: [JournalRecord], _ session: Session, _ state: inout State) throws(StagingError) {
        do throws(StagingError) {
            try session.journal.append(records)
        } catch {
            let failure = StagingError(error.code, "journal: \(error.message); changes are refused until unmount")
            state.journalFailure = failure
            throw failure
        }
    }

    /// The session, started if needed. Caller holds `state`.
    func startedLocked(_ state: inout State) throws(StagingError) -> Session {
        if let failure = state.journalFailure { throw failure }
        guard !state.finished else { throw StagingError(EROFS, "\(directory.container): session already committed") }
        if let session = state.session { return session }
        let session = try beginSession()
        state.session = session
        return session
    }

    /// Work directory, lock, journal, working copy, writer; undone on failure.
    private func beginSession() throws(StagingError) -> Session {
        if mkdir(directory.path, 0o700) != 0 {
            if errno == EEXIST, let leftover = WorkingCopy.leftover(container: directory.container) {
                throw StagingError(EBUSY, leftover.summary)
            }
            throw .system("create \(directory.path)")
        }
        var lock: Int32 = -1
        do throws(StagingError) {
            lock = try directory.acquireLock()
            if mkdir(directory.spoolDirectory, 0o700) != 0 { throw .system("create \(directory.spoolDirectory)") }
            let original = try SystemCalls.identity(directory.container)
            let start = SessionStart(container: directory.container, original: original, inplace: options.inplace,
                                     compression: options.compression, chunkSize: packer.chunkSize)
            let journal = try Journal.create(path: directory.journalPath, start: start)
            let writer = try openWorkingCopy(original: original)
            return Session(writer: writer, journal: journal, lockDescriptor: lock, start: start)
        } catch {
            try? directory.remove()
            if lock >= 0 { close(lock) }
            throw error
        }
    }

    /// Copies (or, with -o inplace, uses) the container and opens it for writing.
    private func openWorkingCopy(original: FileIdentity?) throws(StagingError) -> HDF5Writer {
        if options.inplace {
            return try store { () throws(StoreError) -> HDF5Writer in
                original == nil ? try HDF5Writer.create(path: directory.container)
                                : try HDF5Writer.open(path: directory.container)
            }
        }
        if original != nil {
            try FileCopy.copy(from: directory.container, to: directory.workingPath)
            return try store { () throws(StoreError) -> HDF5Writer in try HDF5Writer.open(path: directory.workingPath) }
        }
        return try store { () throws(StoreError) -> HDF5Writer in try HDF5Writer.create(path: directory.workingPath) }
    }
}

extension H5Path {
    /// This path with its leading `prefix` replaced by `replacement`; nil when it is not under `prefix`.
    func replacingPrefix(_ prefix: H5Path, with replacement: H5Path) -> H5Path? {
        guard components.count >= prefix.components.count,
              Array(components.prefix(prefix.components.count)) == prefix.components else { return nil }
        return H5Path(replacement.components + components.dropFirst(prefix.components.count))
    }
}
