import Glibc
import H5Model
import HDF5
import Staging

/// The namespace side of the write path: mkdir, rmdir, unlink, rename, symlink, link.
/// Every change goes through the working copy (which journals it); nodes keep their ids.
extension ContainerFilesystem: WritableFilesystemOperations {
    package func makeDirectory(parent: NodeID, name: String, mode: UInt32) throws(FSError) -> NodeAttributes {
        // A queued pack that replaces a dataset could free the object header the new group
        // then gets, while its address still leads to the file's node (the kernel answers EIO
        // for an inode that changes type): wait for those. Other packs create, never free.
        waitForStoresThatFreeObjects()
        let (directory, path) = try writableTarget(parent, name)
        try ensureAbsent(directory, name)
        writes?.noteLink(named: name, inGroup: address(of: directory))
        try change("mkdir \(path)") { (copy) throws(StagingError) in try copy.createGroup(at: path) }
        if mode & 0o7777 != 0o755 {
            try recordMetadata(at: path, StoredMetadata(permissions: mode, uid: options.uid, gid: options.gid, modificationTime: .now))
        }
        let node = try child(of: directory, named: name)
        // Nothing can be made in it before this reply gives the kernel its inode.
        if case .directory(0, _, let made, _) = node.kind { writes?.noteGroupMade(at: made) }
        nodes.countLookup(node.id)
        return node.attributes
    }

    package func removeDirectory(parent: NodeID, name: String) throws(FSError) {
        drainStores()
        let (directory, path) = try writableTarget(parent, name)
        let node = try child(of: directory, named: name)
        try refuseViewChange(node, path.description)
        guard case .directory(_, let canonical, let address, _) = node.kind, canonical == path else {
            throw FSError(ENOTDIR, "\(path): not a directory")
        }
        let writes = try session(for: path)
        let children: [Link]
        do { children = try files.container.reader.links(in: path) } catch { throw FSError(error, context: path.description) }
        guard children.isEmpty, !writes.hasPending(under: path) else { throw FSError(ENOTEMPTY, "\(path): directory not empty") }
        try change("rmdir \(path)") { (copy) throws(StagingError) in try copy.deleteLink(at: path) }
        writes.forgetGroup(at: address)
        nodes.unbind(.object(file: 0, address: address))
        nodes.unbind(.sidecar(file: 0, address: address))
    }

    package func unlink(parent: NodeID, name: String) throws(FSError) {
        drainStores()
        let (directory, path) = try writableTarget(parent, name)
        let writes = try session(for: path)
        if let pending = writes.pendingNode(in: path.parent, named: name) {
            writes.state.withLock { s in
                s.pending[PendingName(directory: path.parent, name: name)] = nil
                s.active[pending]?.unlinked = true
            }
            return
        }
        let node = try child(of: directory, named: name)
        switch node.kind {
        case .directory, .externalRoot: throw FSError(EISDIR, "\(path): is a directory")
        case .sidecar: throw FSError(EPERM, "\(path): a sidecar goes with its dataset")
        case .view, .frames: try refuseViewChange(node, path.description)
        default: break
        }
        let link = try link(named: name, in: path.parent, file: files.container)
        if case .dataset(0, let nodePath, _, _) = node.kind, nodePath == path {
            if node.attributes.linkCount > 1, let other = otherHardLinks(of: path).first {
                // Its other names keep it: serve it from one of them.
                try change("unlink \(path)") { (copy) throws(StagingError) in try copy.deleteLink(at: path) }
                rewritePaths(from: path, to: other, among: [node])
                forgetLink(link, node: node, parentAddress: address(of: directory))
                return
            }
            if writes.isOpen(node.id) {
                try parkOpenFile(node, at: path)
                return
            }
        }
        try change("unlink \(path)") { (copy) throws(StagingError) in try copy.deleteLink(at: path) }
        writes.state.withLock { s in
            if var open = s.active[node.id], open.path == path { open.unlinked = true; s.active[node.id] = open }
        }
        forgetLink(link, node: node, parentAddress: address(of: directory))
    }

    /// An open file that loses its last name moves under the hidden group, so its open
    /// descriptors keep reading it; its last close deletes it (`releaseParked`).
    func parkOpenFile(_ node: Node, at path: H5Path) throws(FSError) {
        let writes = try session(for: path)
        let group = H5Path([NameRules.unlinkedGroup])
        let parked = group.appending(String(node.id))
        let needsGroup = (try? files.container.reader.link(named: NameRules.unlinkedGroup, in: .root)) == nil
        try change("unlink \(path)") { (copy) throws(StagingError) in
            if needsGroup { try copy.createGroup(at: group) }
            try copy.moveLink(from: path, to: parked)
        }
        writes.state.withLock { s in
            s.orphans[node.id] = parked
            if var open = s.active[node.id] { open.path = parked; open.unlinked = true; s.active[node.id] = open }
        }
        rewritePaths(from: path, to: parked, among: [node])
    }

    /// The last close of a parked file deletes it.
    func releaseParked(_ node: NodeID) {
        guard let writes, !writes.isOpen(node),
              let parked = writes.state.withLock({ $0.orphans.removeValue(forKey: node) }) else { return }
        do {
            try change("unlink \(parked)") { (copy) throws(StagingError) in try copy.deleteLink(at: parked) }
        } catch {
            log("cannot delete the unlinked file \(parked): \(error.message)")
        }
    }

    package func rename(parent: NodeID, name: String, newParent: NodeID, newName: String, flags: RenameFlags) throws(FSError) {
        if flags.contains(.exchange) { throw FSError(EINVAL, "RENAME_EXCHANGE is not supported") }
        drainStores()
        let (sourceDirectory, source) = try writableTarget(parent, name)
        let (targetDirectory, target) = try writableTarget(newParent, newName)
        if source == target { return }
        if target.components.starts(with: source.components) { throw FSError(EINVAL, "\(target): inside \(source)") }
        let writes = try session(for: source)
        let pendingSource = writes.pendingNode(in: source.parent, named: name)
        let sourceNode: Node
        if let pendingSource { sourceNode = try existing(pendingSource) } else { sourceNode = try child(of: sourceDirectory, named: name) }
        try refuseViewChange(sourceNode, source.description)
        let targetNode = writes.pendingNode(in: target.parent, named: newName).flatMap { nodes.node($0) }
            ?? (try? child(of: targetDirectory, named: newName))
        if let targetNode {
            if flags.contains(.noReplace) { throw FSError(EEXIST, "\(target): exists") }
            if targetNode.id == sourceNode.id { return }  // two names of one file: nothing to do (POSIX)
            if case .sidecar = targetNode.kind {
                return try renameOverSidecar(source: sourceNode, parent: parent, name: name, sidecar: targetNode)
            }
            switch (sourceNode.isDirectory, targetNode.isDirectory) {
            case (true, false): throw FSError(ENOTDIR, "\(target): not a directory")
            case (false, true): throw FSError(EISDIR, "\(target): is a directory")
            case (true, true): try removeDirectory(parent: newParent, name: newName)
            case (false, false): try unlink(parent: newParent, name: newName)
            }
        }
        writes.noteLink(named: newName, inGroup: address(of: targetDirectory))
        if let pendingSource {
            // Not in the working copy yet: only the name it will be packed under moves.
            writes.state.withLock { s in
                s.pending[PendingName(directory: source.parent, name: name)] = nil
                s.pending[PendingName(directory: target.parent, name: newName)] = pendingSource
                s.active[pendingSource]?.path = target
            }
            rewritePaths(from: source, to: target, among: [sourceNode])
            return
        }
        let link = try link(named: name, in: source.parent, file: files.container)
        try change("rename \(source) to \(target)") { (copy) throws(StagingError) in try copy.moveLink(from: source, to: target) }
        writes.state.withLock { s in
            // Files open for writing at or below the moved name go with it: their close packs
            // them at the new path, and one not packed yet is listed in its new directory.
            for (id, var open) in s.active {
                guard let moved = open.path.replacingPrefix(source, with: target) else { continue }
                open.path = moved
                s.active[id] = open
            }
            for (name, node) in s.pending {
                guard let moved = name.directory.replacingPrefix(source, with: target) else { continue }
                s.pending[name] = nil
                s.pending[PendingName(directory: moved, name: name.name)] = node
            }
        }
        if let link, case .hard(let address) = link.target {
            // A file moves alone (with its sidecar); a directory moves everything under it.
            let only: [Node]? = sourceNode.isDirectory ? nil
                : [sourceNode] + [nodes.node(forKey: .sidecar(file: 0, address: address))].compactMap { $0 }
            rewritePaths(from: source, to: target, among: only)
        } else {
            nodes.unbind(.link(file: 0, parent: address(of: sourceDirectory), name: name))
        }
    }

    package func symlink(parent: NodeID, name: String, target: String) throws(FSError) -> NodeAttributes {
        let (directory, path) = try writableTarget(parent, name)
        try ensureAbsent(directory, name)
        writes?.noteLink(named: name, inGroup: address(of: directory))
        try change("symlink \(path)") { (copy) throws(StagingError) in try copy.createSoftLink(at: path, target: target) }
        let node = try child(of: directory, named: name)
        nodes.countLookup(node.id)
        return node.attributes
    }

    package func link(_ node: NodeID, newParent: NodeID, newName: String) throws(FSError) -> NodeAttributes {
        drainStores()
        let (directory, path) = try writableTarget(newParent, newName)
        try ensureAbsent(directory, newName)
        let source = try existing(node)
        guard case .dataset(0, let existingPath, _, _) = source.kind else {
            throw FSError(EPERM, "\(path): only files can have several names")
        }
        if let open = try session(for: path).active(node), open.isNew {
            throw FSError(EBUSY, "\(path): \(open.path) is still being written")
        }
        writes?.noteLink(named: newName, inGroup: address(of: directory))
        try change("link \(path)") { (copy) throws(StagingError) in try copy.createHardLink(at: path, to: existingPath) }
        let made = try child(of: directory, named: newName)
        try refreshDataset(made.id, at: existingPath)
        // What getattr answers: a file still open for writing has bytes its dataset does not
        // hold yet. The kernel takes a LINK reply's size as it is (no attr_version check), so
        // the stored size would cut a read of the file short (docs/write-path.md, "Sizes the
        // kernel is told"). Counted only once the reply is sure, so a failure leaks no lookup.
        let answer = try attributes(of: made.id)
        nodes.countLookup(made.id)
        return answer
    }

    // MARK: - Shared helpers

    /// The directory node and HDF5 path a change names; EROFS on read-only mounts, EXDEV in `/.external/`.
    func writableTarget(_ parent: NodeID, _ name: String) throws(FSError) -> (Node, H5Path) {
        guard !isReadOnly else { throw FSError.readOnly(name) }
        let directory = try existing(parent)
        switch directory.kind {
        case .directory(0, let path, _, _):
            guard name.utf8.count <= 255 else { throw FSError(ENAMETOOLONG, "\(name.prefix(40))...: name too long") }
            guard NameRules.isValidFileName(name) else { throw FSError(EINVAL, "\(path.appending(name)): not a valid name") }
            if path.components.isEmpty, name == NameRules.externalDirectory || name == NameRules.unlinkedGroup {
                throw FSError(EPERM, "/\(name) is reserved for external files")
            }
            return (directory, path.appending(name))
        case .directory, .externalRoot:
            throw FSError(EXDEV, "\(name): external files are read-only")
        case .frames:
            throw FSError(EPERM, "\(name): a frames directory is read-only")
        default:
            throw FSError(ENOTDIR, "node \(parent) is not a directory")
        }
    }

    func ensureAbsent(_ directory: Node, _ name: String) throws(FSError) {
        if (try? child(of: directory, named: name)) != nil { throw FSError(EEXIST, "\(name): file exists") }
    }

    /// The write session; EROFS on a read-only mount. (`startSession` starts it.)
    func session(for path: H5Path) throws(FSError) -> WriteSession {
        guard let writes else { throw FSError.readOnly(path.description) }
        return writes
    }

    /// Runs one change against the working copy, starting it (and switching reads to it) first.
    func change(_ what: String, _ body: (WorkingCopy) throws(StagingError) -> Void) throws(FSError) {
        let writes = try session(for: .root)
        try startSession(writes)
        do {
            try body(writes.workingCopy)
        } catch {
            let failure = FSError(error.code, "\(what): \(error.message)")
            if error.code == ENOSPC { logFailure("write error", failure) }
            throw failure
        }
    }

    func startSession(_ writes: WriteSession) throws(FSError) {
        try writes.refuseAfterFailure()
        if writes.state.withLock({ $0.switched }) { return }
        do {
            try writes.workingCopy.start()
        } catch {
            log("cannot start the working copy: \(error.message)")
            throw FSError(error.code, error.message)
        }
        guard let working = writes.workingCopy.workingPath else { throw FSError(EIO, "working copy missing") }
        let first = writes.state.withLock { s -> Bool in
            defer { s.switched = true }
            return !s.switched
        }
        guard first, working != files.container.reader.filePath else { return }
        do {
            files.replaceContainer(with: try ContainerFilesystem.workingCopyReader(at: working, after: files.container.reader))
        } catch {
            throw FSError(error, context: working)
        }
    }

    func recordMetadata(at path: H5Path, _ metadata: StoredMetadata) throws(FSError) {
        try change("metadata of \(path)") { (copy) throws(StagingError) in
            try copy.setAttribute(of: path, name: StoredMetadata.attributeName, value: metadata.value)
        }
    }

    func address(of directory: Node) -> UInt64 {
        if case .directory(_, _, let address, _) = directory.kind { return address }
        return 0
    }

    /// After a link is gone: its symlink node, or an object that had no other link, is forgotten.
    func forgetLink(_ link: Link?, node: Node, parentAddress: UInt64) {
        guard let link else { return }
        switch link.target {
        case .hard(let address):
            if node.attributes.linkCount <= 1 {
                nodes.unbind(.object(file: 0, address: address))
                nodes.unbind(.sidecar(file: 0, address: address))
            } else {
                var attributes = node.attributes
                attributes.linkCount -= 1
                nodes.replace(Node(id: node.id, kind: node.kind, attributes: attributes))
            }
        case .soft, .external, .unknown:
            nodes.unbind(.link(file: 0, parent: parentAddress, name: link.name))
        }
    }

    /// Nodes remember their HDF5 path; a rename moves every path at or under `source`.
    /// `among` limits the walk to the nodes that can be affected (a file and its sidecar);
    /// nil walks every node (a directory moved).
    func rewritePaths(from source: H5Path, to target: H5Path, among candidates: [Node]? = nil) {
        func moved(_ path: H5Path) -> H5Path? { path.replacingPrefix(source, with: target) }
        for node in candidates ?? nodes.allNodes {
            let kind: NodeKind
            switch node.kind {
            case .directory(0, let path, let address, let references):
                guard let path = moved(path) else { continue }
                kind = .directory(file: 0, path: path, address: address, referenceCount: references)
            case .dataset(0, let path, let content, let description):
                guard let path = moved(path) else { continue }
                kind = .dataset(file: 0, path: path, content: relocated(content, to: path, description), description: description)
            case .sidecar(0, let path, let content):
                guard let path = moved(path) else { continue }
                kind = .sidecar(file: 0, objectPath: path, content: content)
            default:
                continue
            }
            nodes.replace(Node(id: node.id, kind: kind, attributes: node.attributes))
        }
    }
}

extension ContainerFilesystem {
    /// Content that reads through libhdf5 by path follows the dataset to its new path.
    func relocated(_ content: NodeContent, to path: H5Path, _ description: DatasetDescription) -> NodeContent {
        let reader = files.container.reader
        switch content {
        case .rendered:
            return content
        case .lazyRawArray(let lazy):
            return .lazyRawArray(LazyRawArray(byteCount: lazy.byteCount, reader: reader, path: path, engine: engine))
        case .rawArray(let dataset):
            guard let info = description.info, let moved = try? engine.dataset(reader: reader, path: path, info: info) else {
                return .lazyRawArray(LazyRawArray(byteCount: dataset.byteCount, reader: reader, path: path, engine: engine))
            }
            return .rawArray(moved)
        }
    }
}

extension Timestamp {
    static var now: Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }
}
