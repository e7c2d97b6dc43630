import ChunkEngine
import Glibc
import H5Model
import HDF5
import Staging
import Synchronization

/// The read-only view of one HDF5 container as a directory tree (DESIGN.md §1).
///
/// Node ids, names and byte ranges in; `FSError` out. Metadata comes from the
/// files' `ContainerReader`s, dataset bytes from the chunk engine. Every call may
/// run on any session thread: nodes are immutable, the node table and the file
/// registry each have their own lock and neither is held while the other is
/// taken or while libhdf5 is called.
package final class ContainerFilesystem: FilesystemOperations {
    let options: MountOptions
    let files: MountedFiles
    let nodes = NodeTable()
    /// Where the ids of frame files lead (`-o frames`): frames directories reserve blocks of ids.
    let frameBlocks = FrameBlocks()
    /// Large groups of a read-only mount, listed once; their symbolic links' ids (LinkBlock.swift).
    let linkBlocks = LinkBlocks()
    let engine: ChunkEngine
    /// Source files of virtual datasets (VirtualSourceTable.swift).
    let virtualSources: VirtualSourceTable
    let log: @Sendable (String) -> Void
    /// The write side; nil on a read-only mount.
    let writes: WriteSession?
    /// `-o swmr`: when datasets are re-described (ContainerFilesystem+Following.swift).
    let refreshes: RefreshSchedule?
    private let loggedOnce = Mutex<Set<String>>([])
    private let handles = Atomic<UInt64>(1)

    package var isReadOnly: Bool { writes == nil }
    package var keepsRequestsOnTheFirstCore: Bool { writes?.keepsRequestsOnTheFirstCore ?? false }

    /// Opens `containerPath` with libhdf5 and mounts its root. A writable mount creates a
    /// missing container (empty), and starts the working copy first with `-o inplace`.
    package convenience init(containerPath: String, options: MountOptions,
                             log: @escaping @Sendable (String) -> Void = { _ in }) throws(FSError) {
        let opener = ContainerFilesystem.opener(timeLimit: options.hdf5TimeLimit, swmr: options.swmr)
        var session: WriteSession? = nil
        var path = containerPath
        if !options.readOnly {
            if access(containerPath, F_OK) != 0 {
                do { try HDF5Writer.create(path: containerPath).close() } catch {
                    throw FSError(error.kind == .accessDenied ? EACCES : EIO, "\(containerPath): cannot create: \(error.message)")
                }
            }
            do {
                let copy = try WorkingCopy(container: containerPath, options: WorkingCopyOptions(
                    compression: options.compression, chunkSize: options.chunkSize, inplace: options.inplace))
                if options.inplace {
                    try copy.start()
                    path = copy.workingPath ?? containerPath
                }
                session = WriteSession(workingCopy: copy)
            } catch {
                throw FSError(error.code, error.message)
            }
        }
        let reader: ContainerReader
        do {
            // -o inplace: the writer already has this file open in the process (+Containment).
            reader = try (options.inplace ? ContainerFilesystem.opener(timeLimit: nil) : opener)(path)
        } catch {
            throw ContainerFilesystem.openError(error, path: containerPath)
        }
        try self.init(container: reader, options: options, opener: opener, writes: session, log: log)
        if options.inplace { session?.state.withLock { $0.switched = true } }
    }

    /// Serves an already opened container; `opener` opens externally linked files.
    init(container: ContainerReader, options: MountOptions, opener: @escaping ContainerOpener,
                 writes: WriteSession? = nil, log: @escaping @Sendable (String) -> Void = { _ in }) throws(FSError) {
        self.options = options
        self.writes = writes
        self.log = log
        self.refreshes = options.swmr ? RefreshSchedule(interval: options.swmrInterval) : nil
        self.files = MountedFiles(container: container, opener: opener, policy: options.external)
        let files = self.files
        self.virtualSources = VirtualSourceTable(opener: opener, containerDirectory: files.containerDirectory,
                                                 policy: options.external, log: log) { path in
            // After the first change the container is served from its working copy.
            path == files.container.reader.filePath ? files.containerDirectory : VirtualSourceTable.directory(of: path)
        }
        // A read-only mount opens files with keep_cache: the kernel's page cache keeps
        // what a stream was sent, so the engine need not keep those tiles too.
        self.engine = ChunkEngine(cacheBytes: options.cacheBytes, dropsStreamedTiles: writes == nil)
        let rootInfo: ObjectInfo
        do {
            rootInfo = try container.object(at: .root)
        } catch {
            // The superblock was read, so the root group exists: what fails is damage
            // (often a truncation inside the metadata), whatever libhdf5 calls it.
            throw FSError(EIO, "\(container.filePath): damaged HDF5 file: its root group cannot be read: \(error.message)")
        }
        let root = Node(id: 1, kind: .directory(file: 0, path: .root, address: rootInfo.address, referenceCount: rootInfo.referenceCount),
                        attributes: directoryAttributes(id: 1, info: rootInfo, file: files.container, path: .root))
        nodes.installRoot(root, key: .object(file: 0, address: rootInfo.address))
    }

    /// Errors opening the container, worded for the command line.
    static func openError(_ error: StoreError, path: String) -> FSError {
        switch error.kind {
        case .notHDF5: return FSError(EINVAL, "\(path): not an HDF5 file")
        case .notFound: return FSError(ENOENT, "\(path): No such file or directory")
        case .accessDenied: return FSError(EACCES, "\(path): Permission denied")
        case .busy: return FSError(EBUSY, error.message)
        default:
            return FSError(EIO, error.message.hasPrefix(path) ? error.message : "\(path): \(error.message)")
        }
    }

    // MARK: - FilesystemOperations

    package func lookup(parent: NodeID, name: String) throws(FSError) -> NodeAttributes {
        let node = followed(try child(of: followed(try existing(parent)), named: name))
        // A file being written or stored answers its current size (after its store).
        let attributes = writes?.active(node.id) != nil ? try attributes(of: node.id) : node.attributes
        countLookup(node.id)
        return attributes
    }

    package func forget(node: NodeID, count: UInt64) {
        nodes.forget(node, count: count)
    }

    /// Ids of a link block are not counted: their nodes are made from the id and never freed,
    /// and a count each would cost what the block saves.
    package func countLookup(_ node: NodeID) {
        if linkBlocks.owner(of: node) == nil { nodes.countLookup(node) }
    }

    package func attributes(of node: NodeID) throws(FSError) -> NodeAttributes {
        guard let writes else { return followed(try existing(node)).attributes }
        return try writes.passingGate(node) { () throws(FSError) -> NodeAttributes in try currentAttributes(of: node) }
    }

    private func currentAttributes(of node: NodeID) throws(FSError) -> NodeAttributes {
        var attributes = try existing(node).attributes
        // A file open for writing: its size is the spool's, its times and modes the pending ones.
        if let open = writes?.active(node) {
            if let spool = open.spool { attributes.size = spool.size }
            if let typed = open.typed { attributes.size = typed.size }
            open.metadata.apply(to: &attributes)
        }
        if let size = sidecarEditSize(node) { attributes.size = size }
        return attributes
    }

    package func readLink(_ node: NodeID) throws(FSError) -> String {
        guard case .symlink(let target) = try existing(node).kind else {
            throw FSError(EINVAL, "node \(node) is not a symbolic link")
        }
        return target
    }

    package func listDirectory(_ node: NodeID) throws(FSError) -> [DirectoryEntry] {
        try listing(node).shown
    }

    package func listing(_ node: NodeID) throws(FSError) -> DirectoryListing {
        let directory = followed(try existing(node))
        guard refreshes != nil else { return try listing(of: directory) }
        return DirectoryListing(entries: followed(try entries(of: directory)))
    }

    package func open(_ node: NodeID, flags: Int32) throws(FSError) -> UInt64 {
        let target = try existing(node)
        if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 {
            guard writes != nil else { throw FSError.readOnly("node \(node)") }
            return try openForWriting(target, flags: flags)
        }
        switch target.kind {
        case .dataset, .sidecar, .view: break
        case .unreadable(let path, let reason):
            throw FSError(EIO, "\(path): \(reason)")
        case .directory, .externalRoot, .frames: throw FSError(EISDIR, "node \(node) is a directory")
        case .symlink: throw FSError(ELOOP, "node \(node) is a symbolic link")
        }
        let handle = nextHandle()
        writes?.state.withLock { $0.handles[handle] = (node, false) }
        return handle
    }

    package func isGeneratedText(_ node: NodeID) -> Bool {
        switch (try? existing(node))?.kind {
        case .sidecar: return true
        case .view(let view): return view.length == 0  // a frames directory's .attrs
        default: return false
        }
    }

    func nextHandle() -> UInt64 { handles.wrappingAdd(1, ordering: .relaxed).oldValue }

    package func read(_ node: NodeID, handle: UInt64, offset: UInt64, size: Int) throws(FSError) -> [UInt8] {
        guard size > 0 else { return [] }
        var failure: FSError? = nil
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            do throws(FSError) {
                count = try read(node, handle: handle, offset: offset, into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    package func read(_ node: NodeID, handle: UInt64, offset: UInt64,
                      into buffer: UnsafeMutableRawBufferPointer) throws(FSError) -> Int {
        guard buffer.count > 0 else { return 0 }
        guard let writes else { return try readCurrent(node, offset: offset, into: buffer) }
        if let count = readSidecar(handle: handle, offset: offset, into: buffer) { return count }
        return try writes.passingGate(node) { () throws(FSError) -> Int in try readCurrent(node, offset: offset, into: buffer) }
    }

    /// The bytes of a file as they are now (a view reads its dataset's file through this).
    func readCurrent(_ node: NodeID, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(FSError) -> Int {
        if let open = writes?.active(node), let typed = open.typed, typed.isChanged {
            return try readTyped(node, typed, path: open.path, offset: offset, into: buffer)
        }
        if let open = writes?.active(node), let spool = open.spool {
            do { return try spool.read(into: buffer, at: offset) } catch {
                throw FSError(error.code, "\(open.path): \(error.message)")
            }
        }
        let target = followed(try existing(node))
        let content: NodeContent
        let path: H5Path
        switch target.kind {
        case .dataset(_, let p, let c, _): content = c; path = p
        case .sidecar(_, let p, let c): content = c; path = p
        case .unreadable(let p, let reason): throw FSError(EIO, "\(p): \(reason)")
        case .view(let view): return try readView(view, offset: offset, into: buffer)
        default: throw FSError(EISDIR, "node \(node) is not a regular file")
        }
        switch content {
        case .rendered(let bytes):
            guard offset < UInt64(bytes.count) else { return 0 }
            let start = Int(offset)
            let count = min(bytes.count - start, buffer.count)
            bytes.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + start, byteCount: count)
            }
            return count
        case .rawArray(let dataset):
            return try read(dataset, path: path, offset: offset, into: buffer)
        case .lazyRawArray(let lazy):
            let dataset: RawArrayDataset
            do {
                dataset = try lazy.resolved()
            } catch {
                logFailure("read error", error)
                throw error
            }
            return try read(dataset, path: path, offset: offset, into: buffer)
        }
    }

    private func read(_ dataset: RawArrayDataset, path: H5Path, offset: UInt64,
                      into buffer: UnsafeMutableRawBufferPointer) throws(FSError) -> Int {
        do {
            return try dataset.read(offset: offset, count: buffer.count, into: buffer)
        } catch {
            // EIO: the bridge logs it where it answers it.
            throw FSError(EIO, "\(path): \(error.message)")
        }
    }

    package func release(_ node: NodeID, handle: UInt64) {
        releaseSidecar(handle: handle)
        releaseWriting(node, handle: handle)
        releaseParked(node)
    }

    package func statistics() -> FilesystemStatistics {
        var st = stat()
        let size = stat(files.container.reader.filePath, &st) == 0 ? UInt64(st.st_size) : 0
        let nodeCount = UInt64(nodes.count)
        return FilesystemStatistics(blockSize: 4096, totalBlocks: (size + 4095) / 4096, freeBlocks: 0,
                                    availableBlocks: 0, totalFiles: nodeCount, freeFiles: 0, maxNameLength: 255)
    }

    // MARK: - Helpers shared by the extensions

    func existing(_ id: NodeID) throws(FSError) -> Node {
        // Frame files are not in the node table: their ids lead to their frames directory.
        // So are the symbolic links of a link block: theirs lead to the block.
        guard let node = nodes.node(id) ?? frameBlocks.node(id) ?? linkBlocks.node(id) else {
            throw FSError(ENOENT, "unknown node \(id)")
        }
        return node
    }

    /// Logs a message the first time it is seen (e.g. a name that cannot be shown).
    func logOnce(_ message: String) {
        let first = loggedOnce.withLock { $0.insert(message).inserted }
        if first { log(message) }
    }
}
