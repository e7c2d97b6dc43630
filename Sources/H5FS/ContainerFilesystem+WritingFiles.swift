import Glibc
import H5Model
import HDF5
import Staging

/// Regular files on the write path: a file open for writing is a spool on disk;
/// when its last writer closes it (flush of the last handle), it is packed into one
/// dataset and its node takes the new dataset's place under the same id.
extension ContainerFilesystem {
    package func create(parent: NodeID, name: String, mode: UInt32, flags: Int32) throws(FSError) -> (NodeAttributes, UInt64) {
        let (directory, path) = try writableTarget(parent, name)
        let writes = try session(for: path)
        try ensureAbsent(directory, name)
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
        writes.state.withLock { s in
            s.active[id] = ActiveFile(spool: spool, path: path, writers: 1, dirty: true, isNew: true, metadata: metadata)
            s.pending[PendingName(directory: path.parent, name: name)] = id
            s.handles[handle] = (id, true)
        }
        nodes.countLookup(id)
        return (attributes, handle)
    }

    /// open(2) for writing: byte datasets only; the spool starts from the file's bytes unless O_TRUNC.
    func openForWriting(_ node: Node, flags: Int32) throws(FSError) -> UInt64 {
        guard case .dataset(0, let path, _, let description) = node.kind else {
            throw FSError(isReadOnly ? EROFS : EPERM, "node \(node.id): not a writable file")
        }
        let writes = try session(for: path)
        guard description.rendering == .bytes else {
            throw FSError(EPERM, "\(path): typed datasets are not writable yet (only byte datasets are)")
        }
        try startSession(writes)
        let handle = nextHandle()
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
        guard let writes, let open = writes.active(node) else { throw FSError(EBADF, "node \(node) is not open for writing") }
        do {
            try open.spool.write(data, at: offset)
        } catch {
            let failure = FSError(error.code, "\(open.path): \(error.message)")
            log("write error: \(failure.message)")
            throw failure
        }
        writes.state.withLock { s in
            s.active[node]?.dirty = true
            if s.active[node]?.explicitTime == false { s.active[node]?.metadata.modificationTime = .now }
        }
        return data.count
    }

    package func setAttributes(_ node: NodeID, handle: UInt64?, _ changes: AttributeChanges) throws(FSError) -> NodeAttributes {
        let target = try existing(node)
        guard let writes else { throw FSError.readOnly("node \(node)") }
        if let size = changes.size {
            guard case .dataset = target.kind else { throw FSError(EISDIR, "node \(node): not a regular file") }
            if writes.active(node) != nil {
                try truncateActive(node, to: size)
            } else {
                let handle = try openForWriting(target, flags: size == 0 ? O_TRUNC : 0)
                try truncateActive(node, to: size)
                try finishWriting(node, handle: handle)
            }
        }
        guard changes.mode != nil || changes.uid != nil || changes.gid != nil || changes.modificationTime != nil else {
            return try attributes(of: node)
        }
        func updated(_ old: StoredMetadata) -> StoredMetadata {
            var new = old
            if let mode = changes.mode { new.permissions = mode & 0o7777 }
            if let uid = changes.uid { new.uid = uid }
            if let gid = changes.gid { new.gid = gid }
            if let time = changes.modificationTime { new.modificationTime = time }
            return new
        }
        let wasActive = writes.state.withLock { s -> Bool in
            guard var open = s.active[node] else { return false }
            open.metadata = updated(open.metadata)
            if changes.modificationTime != nil { open.explicitTime = true }
            s.active[node] = open
            return true
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

    package func synchronize(_ node: NodeID, handle: UInt64) throws(FSError) {
        guard let writes, let open = writes.active(node) else { return }
        do {
            try open.spool.sync()
            try writes.workingCopy.sync()
        } catch {
            throw FSError(error.code, "\(open.path): \(error.message)")
        }
    }

    /// close(2): when the last writer of a file closes it, the file is packed now, so
    /// errors (ENOSPC) reach the writer and the next stat, link or rename sees the dataset.
    package func flush(_ node: NodeID, handle: UInt64) throws(FSError) {
        guard let writes else { return }
        let last = writes.state.withLock { s -> Bool in
            guard let entry = s.handles[handle], entry.writes, let open = s.active[node] else { return false }
            return open.writers == 1
        }
        if last { try finishWriting(node, handle: handle) }
    }

    /// release: forgets the handle; a writer's last close packs if flush has not.
    func releaseWriting(_ node: NodeID, handle: UInt64) {
        guard let writes, writes.state.withLock({ $0.handles[handle]?.writes ?? false }) else {
            writes?.state.withLock { _ = $0.handles.removeValue(forKey: handle) }
            return
        }
        do {
            try finishWriting(node, handle: handle)
        } catch {
            log("cannot store node \(node): \(error.message) (the file stays in the work directory for recovery)")
        }
    }

    func truncateActive(_ node: NodeID, to size: UInt64) throws(FSError) {
        guard let writes, let open = writes.active(node) else { throw FSError(EBADF, "node \(node) is not open") }
        do { try open.spool.truncate(to: size) } catch { throw FSError(error.code, "\(open.path): \(error.message)") }
        writes.state.withLock { s in
            s.active[node]?.dirty = true
            if s.active[node]?.explicitTime == false { s.active[node]?.metadata.modificationTime = .now }
        }
    }

    /// Drops one writer; the last one packs the spool into the working copy (or drops it
    /// when the file was unlinked or never changed) and refreshes the node.
    func finishWriting(_ node: NodeID, handle: UInt64) throws(FSError) {
        guard let writes else { return }
        let finished = writes.state.withLock { s -> ActiveFile? in
            guard s.handles.removeValue(forKey: handle)?.writes == true, var open = s.active[node] else { return nil }
            open.writers -= 1
            if open.writers > 0 { s.active[node] = open; return nil }
            return open
        }
        guard let open = finished else { return }
        defer {
            writes.state.withLock { s in
                s.active[node] = nil
                let name = PendingName(directory: open.path.parent, name: open.path.name)
                if s.pending[name] == node { s.pending[name] = nil }
            }
        }
        let copy = writes.workingCopy
        guard open.dirty, !open.unlinked else {
            try? copy.dropSpool(open.spool)
            return
        }
        do {
            try copy.packFile(open.spool, at: open.path)
            try copy.setAttribute(of: open.path, name: StoredMetadata.attributeName, value: open.metadata.value)
        } catch {
            let failure = FSError(error.code, "\(open.path): \(error.message)")
            log("write error: \(failure.message)")
            throw failure
        }
        if let working = copy.workingPath { engine.invalidate(filePath: working) }
        try refreshDataset(node, at: open.path)
    }

    /// Rebuilds a file's node from its dataset in the working copy, keeping its id.
    func refreshDataset(_ id: NodeID, at path: H5Path) throws(FSError) {
        let file = files.container
        let info: ObjectInfo
        do { info = try file.reader.object(at: path) } catch { throw FSError(error, context: path.description) }
        let key = NodeKey.object(file: 0, address: info.address)
        // The old dataset is gone (its address may be reused): only the new one leads here now.
        nodes.unbindAll(id)
        let fresh: Node
        do {
            fresh = try makeDatasetNode(file: file, path: path, info: info)
        } catch {
            throw FSError(error, context: path.description)
        }
        nodes.replace(fresh.withID(id))
        nodes.bind(key, to: id)
        nodes.unbind(.sidecar(file: 0, address: info.address))
    }

    package func commit() throws(FSError) {
        guard let writes else { return }
        // Files still open for writing at unmount are closed by the kernel before this; any
        // left were never closed and are not committed (the working copy says so).
        // Readers of the working copy must close before its writer can.
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
