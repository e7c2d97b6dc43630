import Glibc
import H5Model
import HDF5
import Staging

/// Regular files on the write path: a file open for writing is a spool on disk; when a
/// writer closes a descriptor (flush), its bytes are packed into one dataset and the
/// node takes the new dataset's place under the same id.
extension ContainerFilesystem {
    package func create(parent: NodeID, name: String, mode: UInt32, flags: Int32) throws(FSError) -> (NodeAttributes, UInt64) {
        let (directory, path) = try writableTarget(parent, name)
        let writes = try session(for: path)
        try ensureAbsent(directory, name)
        if let sidecar = try createSidecar(in: directory, name: name, flags: flags) { return sidecar }
        writes.noteLink(named: name, inGroup: address(of: directory))
        try startSession(writes)
        let spool: Spool
        do { spool = try writes.workingCopy.makeSpool() } catch { throw FSError(error.code, "\(path): \(error.message)") }
        let id = nodes.allocateID()
        let now = Timestamp.now
        let metadata = StoredMetadata(permissions: mode, uid: options.uid, gid: options.gid, modificationTime: now)
        var attributes = makeAttributes(id: id, mode: S_IFREG | 0o644, linkCount: 1, size: 0, time: now)
        metadata.apply(to: &attributes)
        let node = Node(id: id, kind: .dataset(file: 0, path: path, content: .rendered([]),
                                               description: DatasetDescription(info: nil, rendering: .bytes, attributes: [])),
                        attributes: attributes)
        nodes.replace(node)
        let handle = nextHandle()
        writes.openGate(id)
        writes.state.withLock { s in
            s.active[id] = ActiveFile(spool: spool, path: path, writers: 1, dirty: true, isNew: true, metadata: metadata)
            s.pending[PendingName(directory: path.parent, name: name)] = id
            s.handles[handle] = (id, true)
        }
        nodes.countLookup(id)
        return (attributes, handle)
    }

    /// open(2) for writing: a byte dataset's spool starts from the file's bytes unless O_TRUNC;
    /// typed datasets are written in place (ContainerFilesystem+TypedWrites).
    func openForWriting(_ node: Node, flags: Int32) throws(FSError) -> UInt64 {
        if case .sidecar(0, let objectPath, _) = node.kind {
            return try openSidecarForWriting(node, objectPath: objectPath, flags: flags)
        }
        guard case .dataset(0, let path, _, let description) = node.kind else {
            if case .dataset = node.kind { throw FSError(EROFS, "node \(node.id): external files are read-only") }
            throw FSError(isReadOnly ? EROFS : EPERM, "node \(node.id): not a writable file")
        }
        let writes = try session(for: path)
        guard description.rendering == .bytes else {
            return try openTypedForWriting(node, path: path, description: description, flags: flags, writes)
        }
        try startSession(writes)
        let handle = nextHandle()
        writes.openGate(node.id)
        let joined = writes.state.withLock { s -> Bool in
            guard var open = s.active[node.id] else { return false }
            open.writers += 1
            s.active[node.id] = open
            s.handles[handle] = (node.id, true)
            return true
        }
        if joined {
            if flags & O_TRUNC != 0 { try truncateActive(node.id, to: 0) }
            return handle
        }
        let truncating = flags & O_TRUNC != 0
        let spool: Spool
        do {
            let seed: (any SpoolSeed)? = truncating ? nil : try DatasetSeed(reader: files.container.reader, path: path)
            spool = try writes.workingCopy.makeSpool(seed: seed)
        } catch {
            throw FSError(error.code, "\(path): \(error.message)")
        }
        writes.state.withLock { s in
            s.active[node.id] = ActiveFile(spool: spool, path: path, writers: 1, dirty: truncating, isNew: false,
                                           metadata: StoredMetadata(node.attributes))
            s.handles[handle] = (node.id, true)
        }
        return handle
    }

    package func write(_ node: NodeID, handle: UInt64, offset: UInt64, data: UnsafeRawBufferPointer) throws(FSError) -> Int {
        guard let writes else { throw FSError(EBADF, "node \(node) is not open for writing") }
        if let written = try writeSidecar(handle: handle, offset: offset, data: data) { return written }
        return try writes.passingGate(node) { () throws(FSError) -> Int in try writeCurrent(node, offset: offset, data: data, writes) }
    }

    private func writeCurrent(_ node: NodeID, offset: UInt64, data: UnsafeRawBufferPointer, _ writes: WriteSession) throws(FSError) -> Int {
        try writes.refuseAfterFailure()
        if let typed = writes.active(node)?.typed { return try writeTyped(node, typed, offset: offset, data: data, writes) }
        let (spool, open) = try spoolForWriting(node)
        do {
            try spool.write(data, at: offset)
        } catch {
            let failure = FSError(error.code, "\(open.path): \(error.message)")
            logFailure("write error", failure)
            throw failure
        }
        writes.state.withLock { s in
            s.active[node]?.dirty = true
            if s.active[node]?.explicitTime == false { s.active[node]?.metadata.modificationTime = .now }
        }
        return data.count
    }

    package func setAttributes(_ node: NodeID, handle: UInt64?, _ changes: AttributeChanges) throws(FSError) -> NodeAttributes {
        guard let writes else { throw FSError.readOnly("node \(node)") }
        try waitForStore(node)  // stored in the background since its close (chmod right after cp)
        let target = try existing(node)
        try refuseViewChange(target, "node \(node)")
        if let size = changes.size, case .sidecar = target.kind {
            try truncateSidecar(node, handle: handle, to: size)
        } else if let size = changes.size {
            guard case .dataset = target.kind else { throw FSError(EISDIR, "node \(node): not a regular file") }
            // Open for writing: its next close stores the truncation. An open file with no
            // writer left (its last release queued behind a background pack) is about to
            // be forgotten, spool and all: open it for writing here, as a closed file.
            if let open = writes.active(node), open.writers > 0 {
                try truncateActive(node, to: size)
            } else {
                let handle = try openForWriting(target, flags: size == 0 ? O_TRUNC : 0)
                defer { releaseWriting(node, handle: handle) }
                try truncateActive(node, to: size)
                try store(node)
            }
        }
        guard changes.mode != nil || changes.uid != nil || changes.gid != nil || changes.modificationTime != nil
                || changes.accessTime != nil else {
            return try attributes(of: node)
        }
        func updated(_ old: StoredMetadata) -> StoredMetadata {
            var new = old
            if let mode = changes.mode { new.permissions = mode & 0o7777 }
            if let uid = changes.uid { new.uid = uid }
            if let gid = changes.gid { new.gid = gid }
            if let time = changes.modificationTime { new.modificationTime = time }
            if let time = changes.accessTime { new.accessTime = time }
            return new
        }
        let wasActive = writes.state.withLock { s -> Bool in
            guard var open = s.active[node] else { return false }
            open.metadata = updated(open.metadata)
            if changes.modificationTime != nil { open.explicitTime = true }
            s.active[node] = open
            // Kept for the next store only when there will be one; a stored, unchanged file records it now.
            return open.spool != nil || open.dirty
        }
        if wasActive { return try attributes(of: node) }
        let path: H5Path
        switch target.kind {
        case .dataset(0, let p, _, _), .directory(0, let p, _, _): path = p
        case .symlink, .sidecar:
            // Links and sidecars have no attributes to keep this in; as on many filesystems, times of
            // a symbolic link are not kept.
            return target.attributes
        default:
            throw FSError(EXDEV, "node \(node): external files are read-only")
        }
        let metadata = updated(StoredMetadata(target.attributes))
        try recordMetadata(at: path, metadata)
        var attributes = target.attributes
        metadata.apply(to: &attributes)
        nodes.replace(Node(id: node, kind: target.kind, attributes: attributes))
        return attributes
    }

    /// fsync(2): waits for a background store of the file, answers its failure (or an
    /// earlier one's), and makes the spool and the working copy durable.
    package func synchronize(_ node: NodeID, handle: UInt64) throws(FSError) {
        guard let writes else { return }
        if let open = writes.active(node), let typed = open.typed {
            // A typed file's change is applied and journaled now, as at a close.
            try typed.syncSpool(path: open.path)
            try store(node)
            do { try writes.workingCopy.sync() } catch { throw FSError(error.code, "node \(node): \(error.message)") }
            return
        }
        try writes.passingGate(node) { () throws(FSError) in
            try writes.refuseAfterFailure()
            guard let open = writes.active(node) else { return }
            do throws(StagingError) {
                try open.spool?.sync()
                try writes.workingCopy.sync()
            } catch {
                throw FSError(error.code, "\(open.path): \(error.message)")
            }
        }
    }

    /// close(2) of a descriptor (FUSE flush, once per close, so several times for a dup'ed
    /// or inherited descriptor): what was written so far is stored, now or, for a file of
    /// one chunk, in the background (`storeOnClose`); a `stat`, read, `link` or `rename`
    /// right after sees the dataset. The handle stays open: a later write starts a new
    /// spool from the stored dataset.
    package func flush(_ node: NodeID, handle: UInt64) throws(FSError) {
        if try flushSidecar(handle: handle) { return }
        guard let writes, writes.state.withLock({ $0.handles[handle]?.writes ?? false }) else { return }
        try storeOnClose(node, writes)
    }

    /// release: forgets the handle; the last writer's release stores what a flush did not
    /// (and drops the file when it was unlinked meanwhile).
    func releaseWriting(_ node: NodeID, handle: UInt64) {
        guard let writes else { return }
        let last = writes.state.withLock { s -> ActiveFile? in
            guard let entry = s.handles.removeValue(forKey: handle), entry.writes, var open = s.active[node] else { return nil }
            open.writers -= 1
            s.active[node] = open
            return open.writers == 0 ? open : nil
        }
        guard let last else { return }
        guard writes.isInFlight(node) else { return finishRelease(node, writes) }
        // A background store of this file is queued: what no flush stored goes behind it,
        // and the open file is forgotten after both (`forgetIfClosed` takes no gate: a job
        // on the queue must never wait for a gate a later job holds).
        if last.dirty {
            do { try storeOnClose(node, writes) } catch { log("cannot store node \(node): \(error.message)") }
        }
        writes.background.submit(key: node) { [self] in forgetIfClosed(node, writes) }
    }

    /// The last writer is gone: stores what no flush did, then forgets the open file.
    func finishRelease(_ node: NodeID, _ writes: WriteSession) {
        do {
            try store(node)
        } catch {
            log("cannot store node \(node): \(error.message) (its bytes stay in the work directory for recovery)")
        }
        forgetIfClosed(node, writes)
    }

    /// Forgets the open file once no writer has it and no store of it is queued.
    func forgetIfClosed(_ node: NodeID, _ writes: WriteSession) {
        let finished = writes.state.withLock { s -> ActiveFile? in
            guard let open = s.active[node], open.writers == 0, s.inFlight[node] == nil else { return nil }
            s.active[node] = nil
            let name = PendingName(directory: open.path.parent, name: open.path.name)
            if s.pending[name] == node { s.pending[name] = nil }
            return open
        }
        if let finished {
            if let spool = finished.spool { try? writes.workingCopy.dropSpool(spool) }
            writes.closeGate(node)
        }
    }

    /// The spool writes go to, made from the stored dataset when the file was stored since.
    func spoolForWriting(_ node: NodeID) throws(FSError) -> (Spool, ActiveFile) {
        guard let writes, let open = writes.active(node) else { throw FSError(EBADF, "node \(node) is not open for writing") }
        if let spool = open.spool { return (spool, open) }
        let spool: Spool
        do {
            spool = try writes.workingCopy.makeSpool(seed: try DatasetSeed(reader: files.container.reader, path: open.path))
        } catch {
            throw FSError(error.code, "\(open.path): \(error.message)")
        }
        let installed = writes.state.withLock { s -> Spool? in
            guard var current = s.active[node] else { return nil }
            if let other = current.spool { return other }  // another writer made one first
            current.spool = spool
            s.active[node] = current
            return spool
        }
        guard let chosen = installed else { throw FSError(EBADF, "node \(node) was closed") }
        if chosen !== spool { try? writes.workingCopy.dropSpool(spool) }
        return (chosen, writes.active(node) ?? open)
    }

    /// Packs a file's changed bytes into its dataset and refreshes its node; nothing to do
    /// when it is unchanged since the last store, or unlinked (dropped at release).
    func store(_ node: NodeID) throws(FSError) {
        guard let writes else { return }
        try writes.passingGate(node) { () throws(FSError) in try storeHoldingGate(node, writes) }
    }

    private func storeHoldingGate(_ node: NodeID, _ writes: WriteSession) throws(FSError) {
        if let open = writes.active(node), let typed = open.typed { return try storeTyped(node, open, typed, writes) }
        guard let (open, spool) = takeForStore(node, writes) else { return }
        try sealForStore(node, open, spool, writes)
        try packSealed(node, open, spool, writes, keepOnFailure: false)
    }

    /// The file's bytes and state to store, taken from its open file (which then has no
    /// spool until the next write); nil when there is nothing to store. Caller holds the gate.
    func takeForStore(_ node: NodeID, _ writes: WriteSession) -> (ActiveFile, Spool)? {
        let taken = writes.state.withLock { s -> ActiveFile? in
            guard var open = s.active[node], open.dirty, !open.unlinked, open.spool != nil else { return nil }
            let snapshot = open
            open.spool = nil
            open.dirty = false
            open.isNew = false
            open.attributeEdits = []
            s.active[node] = open
            return snapshot
        }
        guard let open = taken, let spool = open.spool else { return nil }
        return (open, spool)
    }

    /// Seals the spool and journals it with the file's metadata: from here a crash cannot lose it.
    func sealForStore(_ node: NodeID, _ open: ActiveFile, _ spool: Spool, _ writes: WriteSession) throws(FSError) {
        do {
            try writes.workingCopy.closeFile(spool, at: open.path, attributes: [
                NamedValue(name: StoredMetadata.attributeName, value: open.metadata.value)])
        } catch {
            throw storeFailed(node, open, spool, writes, error, keep: false)
        }
    }

    /// Gives up storing: the file leaves the listing; its bytes are dropped, or with `keep`
    /// stay closed and waiting in the work directory (the commit tries them again).
    private func storeFailed(_ node: NodeID, _ open: ActiveFile, _ spool: Spool, _ writes: WriteSession,
                             _ error: StagingError, keep: Bool) -> FSError {
        if !keep { try? writes.workingCopy.dropSpool(spool) }
        writes.state.withLock { s in
            let name = PendingName(directory: open.path.parent, name: open.path.name)
            if s.pending[name] == node { s.pending[name] = nil }
        }
        let failure = FSError(error.code, "\(open.path): \(error.message)")
        logFailure("write error", failure)
        return failure
    }

    /// Packs a sealed file into its dataset and refreshes its node. On failure the bytes are
    /// dropped (the writer gets the error from close()) unless `keepOnFailure`.
    func packSealed(_ node: NodeID, _ open: ActiveFile, _ spool: Spool, _ writes: WriteSession,
                    keepOnFailure: Bool) throws(FSError) {
        let copy = writes.workingCopy
        // Packing makes a new dataset at this path; the file's other names must follow it.
        // A file this session created has no dataset yet, so no other names (no HDF5 call).
        let otherNames = open.isNew ? [] : otherHardLinks(of: open.path)
        let packed: PackResult
        do {
            packed = try copy.packFile(spool, at: open.path)
        } catch {
            throw storeFailed(node, open, spool, writes, error, keep: keepOnFailure)
        }
        writes.state.withLock { s in
            let name = PendingName(directory: open.path.parent, name: open.path.name)
            if s.pending[name] == node { s.pending[name] = nil }
        }
        for other in otherNames {
            try change("link \(other)") { (copy) throws(StagingError) in
                try copy.deleteLink(at: other)
                try copy.createHardLink(at: other, to: open.path)
            }
        }
        let attributeFailure = storePendingAttributes(open)
        if let working = copy.workingPath { engine.invalidate(filePath: working) }
        if otherNames.isEmpty, open.attributeEdits.isEmpty, let linked = packed.linked, !linked.replaced {
            // Nothing but the pack touched the dataset: its node is built from what the pack
            // made, without reading it back.
            try refreshDataset(node, at: open.path, linked: linked.info, layout: packed.layout,
                               attributes: linked.attributes.map { Attribute(name: $0.name, value: $0.value) })
        } else {
            try refreshDataset(node, at: open.path)
        }
        if let attributeFailure { throw attributeFailure }
    }

    /// The other paths of the dataset at `path` when it has several names (found by one
    /// walk of the file's groups; only files with hard links pay for it).
    func otherHardLinks(of path: H5Path) -> [H5Path] {
        let reader = files.container.reader
        guard let info = try? reader.object(at: path), info.referenceCount > 1 else { return [] }
        var found: [H5Path] = []
        var visited: Set<UInt64> = []
        var queue: [H5Path] = [.root]
        while let group = queue.popLast() {
            guard let links = try? reader.links(in: group) else { continue }
            for link in links {
                guard case .hard(let address) = link.target else { continue }
                let child = group.appending(link.name)
                if address == info.address {
                    if child != path { found.append(child) }
                } else if let object = try? reader.object(at: child), object.kind == .group, visited.insert(address).inserted {
                    queue.append(child)
                }
            }
        }
        return found
    }

    func truncateActive(_ node: NodeID, to size: UInt64) throws(FSError) {
        guard let writes else { throw FSError(EBADF, "node \(node) is not open") }
        try writes.passingGate(node) { () throws(FSError) in try truncateCurrent(node, to: size, writes) }
    }

    private func truncateCurrent(_ node: NodeID, to size: UInt64, _ writes: WriteSession) throws(FSError) {
        if let typed = writes.active(node)?.typed { return try truncateTyped(node, typed, to: size, writes) }
        let (spool, open) = try spoolForWriting(node)
        do { try spool.truncate(to: size) } catch { throw FSError(error.code, "\(open.path): \(error.message)") }
        writes.state.withLock { s in
            s.active[node]?.dirty = true
            if s.active[node]?.explicitTime == false { s.active[node]?.metadata.modificationTime = .now }
        }
    }

    /// Rebuilds a file's node from its dataset in the working copy, keeping its id.
    func refreshDataset(_ id: NodeID, at path: H5Path) throws(FSError) {
        let info: ObjectInfo
        do { info = try files.container.reader.object(at: path) } catch { throw FSError(error, context: path.description) }
        try refreshDataset(id, at: path, info: info, summary: nil, attributes: nil)
    }

    /// The same for a byte dataset a pack just linked, from what the pack knows of it: its
    /// object info, its layout, and every attribute it has (no libhdf5 call).
    func refreshDataset(_ id: NodeID, at path: H5Path, linked info: ObjectInfo, layout: ByteDatasetLayout,
                        attributes: [Attribute]) throws(FSError) {
        try refreshDataset(id, at: path, info: info, summary: layout.summary, attributes: attributes)
    }

    private func refreshDataset(_ id: NodeID, at path: H5Path, info: ObjectInfo, summary: DatasetSummary?,
                                attributes: [Attribute]?) throws(FSError) {
        let file = files.container
        let key = NodeKey.object(file: 0, address: info.address)
        // The old dataset is gone (its address may be reused): only the new one leads here now.
        nodes.unbindAll(id)
        let fresh: Node
        do {
            fresh = try makeDatasetNode(file: file, path: path, info: info, summary: summary, attributes: attributes)
        } catch {
            throw FSError(error, context: path.description)
        }
        nodes.replace(fresh.withID(id))
        nodes.bind(key, to: id)
        nodes.unbind(.sidecar(file: 0, address: info.address))
    }

    package func commit() throws(FSError) {
        guard let writes else { return }
        drainStores()
        // Files still open for writing at unmount are closed by the kernel before this; any
        // left were never closed and are not committed (the working copy says so).
        // Readers of the working copy must close before its writer can.
        if (try? files.container.reader.link(named: NameRules.unlinkedGroup, in: .root)) != nil {
            try? change("cleanup") { (copy) throws(StagingError) in try copy.deleteLink(at: H5Path([NameRules.unlinkedGroup])) }
        }
        if let reader = files.container.reader as? HDF5Container, reader.filePath == writes.workingCopy.workingPath {
            reader.close()
        }
        do {
            let report = try writes.workingCopy.commit()
            log("commit: \(report.outcome.rawValue), \(report.packedAtCommit) files packed at commit")
        } catch {
            throw FSError(error.code, "commit of \(files.container.reader.filePath): \(error.message)")
        }
    }
}
