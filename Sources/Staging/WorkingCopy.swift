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
/// Locks, in the order they are taken:
/// - `state` is the order of changes: held across each change to the working copy and its
///   journal record, so the journal's order is the order the changes were made. Packing
///   holds it only to link; compression and chunk writes run without it.
/// - `files` holds the spools (open, closed and unpacked) and what a spool's own records
///   need, so a file's create and close (which change no HDF5 object) never wait behind a
///   change that waits for the HDF5 gate. A record that names spools (`fileClosed`,
///   `spoolMoved`, a rename that moves closed files) is appended under it, together with
///   the table change it describes, so the journal and the tables agree.
/// - the HDF5 gate and the journal's own lock; `journalFailure` is a leaf.
package final class WorkingCopy: Sendable {
    package let directory: WorkDirectory
    package let options: WorkingCopyOptions
    let packer: Packer
    let state: Mutex<State>
    let files: Mutex<Files>
    /// An append to the journal failed (a change may have reached the working copy without
    /// its record): every later change is refused.
    let journalFailure = Mutex<StagingError?>(nil)
    /// Spool ids, unique within the session.
    let spoolIDs = SpoolIDs()
    /// Spool files of packed files, emptied and renamed for the next spools (SpoolFileReserve).
    let spoolFiles: SpoolFileReserve

    struct State {
        var session: Session?
        var finished = false
        /// Files packed into the working copy this session (a file stored twice counts twice):
        /// what the commit's progress calls the files it commits.
        var filesStored = 0
    }

    struct Files {
        /// The started session, for the spool operations (nil before the start, and from the
        /// commit on: they then ask `state`, which waits for the commit and refuses).
        var session: Session?
        var nextToken: UInt64 = 1
        var activePacks = 0
        /// Spools made and not yet closed.
        var openSpools: [UInt64: Spool] = [:]
        /// Closed, not yet packed: the spool, the file's current path, and the attributes its
        /// dataset gets when packed.
        var closedSpools: [UInt64: (spool: Spool, path: H5Path, attributes: [NamedValue])] = [:]
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
        spoolFiles = SpoolFileReserve(naming: { [directory, spoolIDs] in
            let id = spoolIDs.take()
            return (id, directory.spoolPath(id))
        })
        self.options = options
        packer = Packer(compression: options.compression, chunkSize: options.chunkSize,
                        pool: WorkerPool(threads: options.packThreads))
        state = Mutex(State())
        files = Mutex(Files())
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
        if let session = files.withLock({ $0.session }) { return session.writer.filePath }
        return state.withLock { state in
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
        } then: { files in
            for (id, entry) in files.closedSpools {
                if let moved = entry.path.replacingPrefix(source, with: destination) {
                    files.closedSpools[id]?.path = moved
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

    /// Applies one change and records it, under the state lock (and `update`, with the
    /// record, under the files lock). A change libhdf5 refused is not recorded. A change the
    /// journal could not record stops all further changes.
    func change(_ record: JournalRecord, _ apply: (HDF5Writer) throws(StoreError) -> Void,
                then update: (inout Files) -> Void = { _ in }) throws(StagingError) {
        try state.withLock { (state) throws(StagingError) in
            let session = try startedLocked(&state)
            try store { () throws(StoreError) in try apply(session.writer) }
            try files.withLock { (files) throws(StagingError) in
                try appendRecords([record], session)
                update(&files)
            }
        }
    }

    /// Appends records; on failure remembers it so no later change goes unrecorded.
    func appendRecords(_ records: [JournalRecord], _ session: Session) throws(StagingError) {
        do throws(StagingError) {
            try session.journal.append(records)
        } catch {
            let failure = StagingError(error.code, "journal: \(error.message); changes are refused until unmount")
            journalFailure.withLock { $0 = $0 ?? failure }
            throw failure
        }
    }

    /// Throws when an append to the journal has failed.
    func requireJournal() throws(StagingError) {
        if let failure = journalFailure.withLock({ $0 }) { throw failure }
    }

    /// The session, started if needed. Caller holds `state`.
    func startedLocked(_ state: inout State) throws(StagingError) -> Session {
        try requireJournal()
        guard !state.finished else { throw StagingError(EROFS, "\(directory.container): session already committed") }
        if let session = state.session { return session }
        let session = try beginSession()
        state.session = session
        files.withLock { $0.session = session }
        return session
    }

    /// The session, for spool operations: without the state lock once it has started.
    func startedSession() throws(StagingError) -> Session {
        try requireJournal()
        if let session = files.withLock({ $0.session }) { return session }
        return try state.withLock { (state) throws(StagingError) -> Session in try startedLocked(&state) }
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

/// Hands out spool ids: to new spools, and to reserve files named ahead for the next ones.
final class SpoolIDs: Sendable {
    private let next = Atomic<UInt64>(1)

    func take() -> UInt64 { next.wrappingAdd(1, ordering: .relaxed).oldValue }
}

extension H5Path {
    /// This path with its leading `prefix` replaced by `replacement`; nil when it is not under `prefix`.
    package func replacingPrefix(_ prefix: H5Path, with replacement: H5Path) -> H5Path? {
        guard components.count >= prefix.components.count,
              Array(components.prefix(prefix.components.count)) == prefix.components else { return nil }
        return H5Path(replacement.components + components.dropFirst(prefix.components.count))
    }
}
