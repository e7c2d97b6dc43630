import Glibc
import H5Model
import HDF5
import Staging

/// Changing HDF5 attributes: setxattr/removexattr of `user.NAME`, and sidecar writes
/// (ContainerFilesystem+SidecarWriting). Each change goes to the working copy and its
/// journal like every other change, so it is committed at unmount and replayed by
/// `--recover`; then the object's node and sidecar are rebuilt under their ids.
extension ContainerFilesystem {
    package func setExtendedAttribute(_ node: NodeID, name: String, value: [UInt8],
                                      flags: ExtendedAttributeFlags) throws(FSError) {
        let attributeName = try writableAttributeName(name)
        if flags.contains(.create) && flags.contains(.replace) {
            throw FSError(EINVAL, "\(name): XATTR_CREATE and XATTR_REPLACE together")
        }
        try changeAttributes(of: node) { (current) throws(FSError) -> [AttributeEdit] in
            let existing = current.first(where: { $0.name == attributeName })?.value
            if flags.contains(.create), existing != nil { throw FSError(EEXIST, "\(name) exists") }
            if flags.contains(.replace), existing == nil { throw FSError(ENODATA, "no extended attribute \(name)") }
            let new = try AttributeRules.value(ofExtendedAttribute: value, existing: existing, name: attributeName)
            try AttributeRules.checkValue(new, name: attributeName)
            if let existing, AttributeRules.same(existing, new) { return [] }
            return [.set(name: attributeName, value: new)]
        }
    }

    package func removeExtendedAttribute(_ node: NodeID, name: String) throws(FSError) {
        let attributeName = try writableAttributeName(name)
        try changeAttributes(of: node) { (current) throws(FSError) -> [AttributeEdit] in
            guard current.contains(where: { $0.name == attributeName }) else {
                throw FSError(ENODATA, "no extended attribute \(name)")
            }
            return [.remove(name: attributeName)]
        }
    }

    /// NAME of `user.NAME`. Other namespaces (security.*, system.*, trusted.*) have no place
    /// in HDF5: EOPNOTSUPP, which `cp -a` and `rsync -X` pass over silently.
    private func writableAttributeName(_ name: String) throws(FSError) -> String {
        guard !isReadOnly else { throw FSError.readOnly(name) }
        guard name.hasPrefix(ContainerFilesystem.xattrNamespace) else {
            throw FSError(EOPNOTSUPP, "\(name): only user.* extended attributes are kept")
        }
        let attributeName = String(name.dropFirst(ContainerFilesystem.xattrNamespace.count))
        try AttributeRules.checkName(attributeName)
        return attributeName
    }

    /// Decides the edits from the object's current user attributes (`decide` may refuse)
    /// and applies them: to the working copy, or, for a file this session created and has
    /// not stored yet, to the file's pending edits (applied when it is packed).
    func changeAttributes(of id: NodeID, _ decide: ([Attribute]) throws(FSError) -> [AttributeEdit]) throws(FSError) {
        guard let writes else { throw FSError.readOnly("node \(id)") }
        switch try existing(id).kind {
        case .dataset(0, _, _, _):
            // Through the file's gate: a store in progress finishes first.
            try writes.passingGate(id) { () throws(FSError) in
                let node = try existing(id)
                guard case .dataset(_, let nodePath, _, let description) = node.kind else {
                    throw FSError(ENOENT, "node \(id) is gone")
                }
                if let open = writes.active(id), open.isNew {
                    let edits = try decide(AttributeEdit.applying(open.attributeEdits, to: []))
                    writes.state.withLock { $0.active[id]?.attributeEdits += edits }
                    return
                }
                let path = writes.active(id)?.path ?? nodePath
                let edits = try decide(description.attributes)
                guard !edits.isEmpty else { return }
                try applyAttributeEdits(edits, at: path)
                try refreshAttributes(ofDataset: id, at: path)
            }
        case .directory(0, let path, let address, _):
            let edits = try decide(try groupAttributes(file: files.container, path: path).1)
            guard !edits.isEmpty else { return }
            try applyAttributeEdits(edits, at: path)
            try refreshAttributes(ofGroupAt: path, address: address)
        case .sidecar(0, _, _), .symlink:
            throw FSError(EPERM, "node \(id): sidecars and symbolic links have no attributes of their own")
        case .unreadable(let path, let reason):
            throw FSError(EIO, "\(path): \(reason)")
        case .view, .frames:
            throw FSError(EPERM, "node \(id): views have no attributes of their own")
        case .dataset, .directory, .sidecar, .externalRoot:
            throw FSError(EROFS, "node \(id): external files are read-only")
        }
    }

    /// The xattrs a new file got before it was first stored, now that it has a dataset. If
    /// libhdf5 refuses them the file stays stored without them, and the close says why.
    func storePendingAttributes(_ open: ActiveFile) -> FSError? {
        let attributes = AttributeEdit.applying(open.attributeEdits, to: [])
        guard !attributes.isEmpty else { return nil }
        do {
            try applyAttributeEdits(attributes.map { .set(name: $0.name, value: $0.value) }, at: open.path)
            return nil
        } catch {
            logFailure("write error", error)
            return error
        }
    }

    /// The edits as one journaled change, all or nothing.
    func applyAttributeEdits(_ edits: [AttributeEdit], at path: H5Path) throws(FSError) {
        try change("attributes of \(path)") { (copy) throws(StagingError) in try copy.changeAttributes(of: path, edits) }
    }

    /// Rebuilds a dataset's node (same id) after its attributes changed, and its sidecar:
    /// new content under the same id, or gone when a byte dataset lost its last attribute.
    func refreshAttributes(ofDataset id: NodeID, at path: H5Path) throws(FSError) {
        let file = files.container
        let fresh: Node
        let info: ObjectInfo
        do {
            info = try file.reader.object(at: path)
            fresh = try makeDatasetNode(file: file, path: path, info: info).withID(id)
        } catch {
            throw FSError(error, context: path.description)
        }
        nodes.replace(fresh)
        guard case .dataset(_, _, _, let description) = fresh.kind else { return }
        let key = NodeKey.sidecar(file: 0, address: info.address)
        guard let sidecar = nodes.node(forKey: key) else { return }
        guard description.hasSidecar else { return nodes.unbind(key) }
        let json = datasetSidecarJSON(try fullInfo(description, at: path), rendering: description.rendering,
                                      attributes: description.attributes, file: file)
        nodes.replace(sidecarNode(id: sidecar.id, file: file, objectPath: path, json: json, time: .now))
    }

    /// The dataset's full description (byte datasets without attributes are described lazily).
    func fullInfo(_ description: DatasetDescription, at path: H5Path) throws(FSError) -> DatasetInfo {
        if let known = description.info { return known }
        do { return try files.container.reader.dataset(at: path) } catch { throw FSError(error, context: path.description) }
    }

    /// A group's sidecar after its attributes changed: new content, or gone with the last one.
    func refreshAttributes(ofGroupAt path: H5Path, address: UInt64) throws(FSError) {
        let key = NodeKey.sidecar(file: 0, address: address)
        guard let sidecar = nodes.node(forKey: key) else { return }
        let attributes = try groupAttributes(file: files.container, path: path).1
        guard !attributes.isEmpty else { return nodes.unbind(key) }
        nodes.replace(sidecarNode(id: sidecar.id, file: files.container, objectPath: path,
                                  json: SidecarBuilder.group(attributes: attributes), time: .now))
    }
}
