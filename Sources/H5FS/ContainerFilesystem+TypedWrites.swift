import Glibc
import H5Model
import HDF5
import Staging

/// Writing into typed datasets' raw-array files (DESIGN.md §2, docs/writing.md "Typed
/// datasets"). A typed dataset open for writing is an `ActiveFile` whose `typed` holds the
/// written bytes (`TypedWrite`); the byte-file path of ContainerFilesystem+WritingFiles
/// hands every typed call here, and the open/close bookkeeping (handles, writers, gate,
/// renames, unlink) is the byte files' own.
extension ContainerFilesystem {
    /// open(2) for writing of a dataset that is not a byte dataset.
    func openTypedForWriting(_ node: Node, path: H5Path, description: DatasetDescription, flags: Int32,
                             _ writes: WriteSession) throws(FSError) -> UInt64 {
        switch description.rendering {
        case .text: throw FSError(EPERM, "\(path): string datasets (text files) are not writable")
        case .jsonLines: throw FSError(EPERM, "\(path): datasets shown as JSON lines are not writable")
        case .bytes, .rawArray: break
        }
        guard let info = description.info, let geometry = RawArrayGeometry(info), case .dataset(_, _, let content, _) = node.kind else {
            throw FSError(EPERM, "\(path): this dataset has no raw array to write")
        }
        if case .virtual = info.layout { throw FSError(EPERM, "\(path): a virtual dataset is not writable") }
        try startSession(writes)
        let refusal: RawWriteRefusal?
        do { refusal = try writes.workingCopy.rawWriteRefusal(at: path) } catch { throw FSError(error.code, "\(path): \(error.message)") }
        if let refusal {
            guard case .filterUnavailable = refusal else { throw FSError(EPERM, "\(path): not writable: \(refusal)") }
            // EIO: the bridge logs it where it answers it.
            throw FSError(EIO, "\(path): not writable: \(refusal)")
        }
        let handle = nextHandle()
        writes.openGate(node.id)
        let typed = writes.state.withLock { s -> TypedWrite in
            s.handles[handle] = (node.id, true)
            if var open = s.active[node.id], let typed = open.typed {
                open.writers += 1
                s.active[node.id] = open
                return typed
            }
            let typed = TypedWrite(geometry: geometry, storedBytes: content.size)
            s.active[node.id] = ActiveFile(spool: nil, path: path, writers: 1, dirty: false, isNew: false,
                                           metadata: StoredMetadata(node.attributes), typed: typed)
            return typed
        }
        if flags & O_TRUNC != 0 {
            do {
                try writes.passingGate(node.id) { () throws(FSError) in
                    try changeTyped(node.id, writes) { (path) throws(FSError) in try typed.truncate(to: 0, openTruncating: true, path: path) }
                }
            } catch {
                releaseWriting(node.id, handle: handle)
                throw error
            }
        }
        return handle
    }

    func writeTyped(_ node: NodeID, _ typed: TypedWrite, offset: UInt64, data: UnsafeRawBufferPointer,
                    _ writes: WriteSession) throws(FSError) -> Int {
        try changeTyped(node, writes) { (path) throws(FSError) in
            try typed.write(data, at: offset, path: path) { () throws(FSError) -> Spool in
                do throws(StagingError) {
                    return try writes.workingCopy.makeSpool()
                } catch {
                    throw FSError(error.code, "\(path): \(error.message)")
                }
            }
        }
        return data.count
    }

    func truncateTyped(_ node: NodeID, _ typed: TypedWrite, to size: UInt64, _ writes: WriteSession) throws(FSError) {
        try changeTyped(node, writes) { (path) throws(FSError) in try typed.truncate(to: size, path: path) }
    }

    /// Runs one change of an open typed file and marks it changed (mtime follows unless set).
    private func changeTyped(_ node: NodeID, _ writes: WriteSession, _ body: (H5Path) throws(FSError) -> Void) throws(FSError) {
        guard let open = writes.active(node) else { throw FSError(EBADF, "node \(node) is not open for writing") }
        do {
            try body(open.path)
        } catch {
            if error.errno == ENOSPC { logFailure("write error", error) }
            throw error
        }
        writes.state.withLock { s in
            s.active[node]?.dirty = true
            if s.active[node]?.explicitTime == false { s.active[node]?.metadata.modificationTime = .now }
        }
    }

    /// The file's bytes while it has unstored changes: stored bytes, fill value, written bytes.
    func readTyped(_ node: NodeID, _ typed: TypedWrite, path: H5Path, offset: UInt64,
                   into buffer: UnsafeMutableRawBufferPointer) throws(FSError) -> Int {
        try typed.read(into: buffer, at: offset, path: path) { (part, at) throws(FSError) in
            guard case .dataset(_, _, .rawArray(let dataset), _) = try existing(node).kind else {
                throw FSError(EIO, "\(path): no raw array behind this file")
            }
            do {
                let got = try dataset.read(offset: at, count: part.count, into: part)
                guard got == part.count else { throw FSError(EIO, "\(path): \(got) of \(part.count) stored bytes at \(at)") }
            } catch let error as FSError {
                throw error
            } catch {
                throw FSError(EIO, "\(path): \(error)")
            }
        }
    }

    /// Stores a typed file's change into the working copy (caller holds the file's gate) and
    /// refreshes its node; nothing to do when unchanged. An unlinked file's change is dropped.
    func storeTyped(_ node: NodeID, _ open: ActiveFile, _ typed: TypedWrite, _ writes: WriteSession) throws(FSError) {
        let copy = writes.workingCopy
        if open.unlinked {
            if let spool = typed.reset(storedBytes: typed.size) { try? copy.dropSpool(spool) }
            return
        }
        guard let (change, spool) = try typed.pendingChange(path: open.path) else { return }
        var failure: FSError?
        do {
            try copy.writeRawArray(change, from: spool)
            try copy.setAttribute(of: open.path, name: StoredMetadata.attributeName, value: open.metadata.value)
        } catch {
            // The spool stays in the work directory (the journal may point at it); what was
            // written since the last store is given up, and the writer's close() says so.
            failure = FSError(error.code, "\(open.path): \(error.message)")
        }
        writes.state.withLock { $0.active[node]?.dirty = false }
        if let working = copy.workingPath { engine.invalidate(filePath: working) }
        let sidecarKey = (try? files.container.reader.object(at: open.path)).map { NodeKey.sidecar(file: 0, address: $0.address) }
        let sidecar = sidecarKey.flatMap { nodes.node(forKey: $0) }
        do { try refreshDataset(node, at: open.path) } catch { failure = failure ?? error }
        if let sidecar, let sidecarKey { refreshSidecar(sidecar.id, key: sidecarKey, of: node) }
        typed.reset(storedBytes: (try? existing(node))?.storedContentSize ?? change.size)
        if let failure {
            logFailure("write error", failure)
            throw failure
        }
    }
}

extension ContainerFilesystem {
    /// The sidecar keeps its node id (the kernel may still hold it for its name) and shows
    /// the dataset's new shape and storage.
    func refreshSidecar(_ id: NodeID, key: NodeKey, of dataset: NodeID) {
        guard let fresh = nodes.node(dataset), case .dataset(_, let path, _, let description) = fresh.kind,
              let info = description.info else { return }
        let json = datasetSidecarJSON(info, rendering: description.rendering, attributes: description.attributes,
                                      file: files.container)
        nodes.replace(sidecarNode(id: id, file: files.container, objectPath: path, json: json,
                                  time: fresh.attributes.modificationTime))
        nodes.bind(key, to: id)
    }
}

extension Node {
    /// The byte size of a dataset node's content.
    var storedContentSize: UInt64? {
        if case .dataset(_, _, let content, _) = kind { return content.size }
        return nil
    }
}
