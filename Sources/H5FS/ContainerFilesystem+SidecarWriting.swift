import Glibc
import H5Model
import HDF5

/// A sidecar open for writing: the JSON text written through one handle. It is parsed and
/// applied when that handle is closed (FUSE flush, the moment a byte file is stored), so
/// an invalid text is the close's EINVAL; see `SidecarEdit` for what may change.
struct SidecarBuffer: Sendable {
    var node: NodeID
    /// The group or dataset whose attributes the sidecar shows.
    var objectPath: H5Path
    var bytes: [UInt8]
    /// Written to (or ftruncate'd) since it was opened or last applied. O_TRUNC alone is no
    /// edit: a shell's `> x.attrs` closes a duplicate descriptor before anything is written.
    var dirty = false
    /// Made by open(O_CREAT) next to a byte dataset or in a directory that had no sidecar:
    /// it goes away at the last close unless the object now has attributes.
    var created = false
}

/// Writing sidecars: open one (O_TRUNC or not), write JSON, close. A new `NAME.attrs` next
/// to a byte dataset NAME, or a new `.attrs` in a directory, is a sidecar too (a real object
/// of that name would have been found first: real objects win). A file renamed over a
/// sidecar (`sed -i`, editors that write a copy and rename it) is applied the same way.
extension ContainerFilesystem {
    func openSidecarForWriting(_ node: Node, objectPath: H5Path, flags: Int32) throws(FSError) -> UInt64 {
        guard let writes else { throw FSError.readOnly(objectPath.description) }
        var seed: [UInt8] = []
        if flags & O_TRUNC == 0, case .sidecar(_, _, .rendered(let bytes)) = node.kind { seed = bytes }
        let handle = nextHandle()
        writes.state.withLock { s in
            s.handles[handle] = (node.id, false)
            s.sidecarEdits[handle] = SidecarBuffer(node: node.id, objectPath: objectPath, bytes: seed)
        }
        return handle
    }

    /// create(2) of a sidecar name that has no sidecar yet; nil when `name` is not one (an
    /// ordinary file is created then).
    func createSidecar(in directory: Node, name: String, flags: Int32) throws(FSError) -> (NodeAttributes, UInt64)? {
        guard let writes, case .directory(0, let directoryPath, let directoryAddress, _) = directory.kind,
              name.hasSuffix(NameRules.sidecarSuffix) else { return nil }
        let base = String(name.dropLast(NameRules.sidecarSuffix.count))
        let objectPath: H5Path
        let address: UInt64
        if base.isEmpty {
            (objectPath, address) = (directoryPath, directoryAddress)
        } else {
            // Closed and being stored in the background: wait for its dataset first.
            if let pending = writes.pendingNode(in: directoryPath, named: base) { try waitForStore(pending) }
            if writes.pendingNode(in: directoryPath, named: base) != nil {
                throw FSError(EBUSY, "\(directoryPath.appending(base)) is still being written: close it first")
            }
            guard let link = try link(named: base, in: directoryPath, file: files.container),
                  case .hard(let target) = link.target,
                  let node = try node(for: link, in: files.container, directory: directoryPath, address: directoryAddress),
                  case .dataset(0, let path, _, _) = node.kind else { return nil }
            (objectPath, address) = (path, target)
        }
        let file = files.container
        let sidecar = try nodes.node(forKey: .sidecar(file: 0, address: address)) { id in
            sidecarNode(id: id, file: file, objectPath: objectPath, json: nil, time: .now)
        }
        let handle = try openSidecarForWriting(sidecar, objectPath: objectPath, flags: flags | O_TRUNC)
        writes.state.withLock { $0.sidecarEdits[handle]?.created = true }
        nodes.countLookup(sidecar.id)
        return (sidecar.attributes, handle)
    }

    /// write(2) to a sidecar handle; nil for other handles.
    func writeSidecar(handle: UInt64, offset: UInt64, data: UnsafeRawBufferPointer) throws(FSError) -> Int? {
        guard let writes else { return nil }
        return try writes.state.withLock { (s) throws(FSError) -> Int? in
            // In place (no copy of the edit held meanwhile): a copy per write would be quadratic.
            guard let count = s.sidecarEdits[handle]?.bytes.count else { return nil }
            let (end, overflow) = offset.addingReportingOverflow(UInt64(data.count))
            guard !overflow, end <= UInt64(SidecarEdit.maximumSize) else {
                throw FSError(EFBIG, "\(s.sidecarEdits[handle]!.objectPath): a sidecar holds at most \(SidecarEdit.maximumSize) bytes")
            }
            let grow = Int(end) - count
            if grow > 0 { s.sidecarEdits[handle]!.bytes.append(contentsOf: repeatElement(0, count: grow)) }
            s.sidecarEdits[handle]!.bytes.withUnsafeMutableBytes { target in
                if !data.isEmpty { (target.baseAddress! + Int(offset)).copyMemory(from: data.baseAddress!, byteCount: data.count) }
            }
            s.sidecarEdits[handle]!.dirty = true
            return data.count
        }
    }

    /// read(2) through a sidecar handle sees what it wrote; nil for other handles.
    func readSidecar(handle: UInt64, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard let bytes = writes?.state.withLock({ $0.sidecarEdits[handle]?.bytes }) else { return nil }
        guard offset < UInt64(bytes.count) else { return 0 }
        let count = min(bytes.count - Int(offset), buffer.count)
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + Int(offset), byteCount: count)
        }
        return count
    }

    /// truncate/ftruncate of a sidecar: of the handle's text, or of the one edit open on it.
    /// A sidecar nobody is writing cannot be truncated: empty text is not a sidecar (EINVAL).
    func truncateSidecar(_ node: NodeID, handle: UInt64?, to size: UInt64) throws(FSError) {
        guard let writes else { throw FSError.readOnly("node \(node)") }
        guard size <= UInt64(SidecarEdit.maximumSize) else { throw FSError(EFBIG, "a sidecar holds at most \(SidecarEdit.maximumSize) bytes") }
        let done = writes.state.withLock { s -> Bool in
            guard let key = handle.flatMap({ s.sidecarEdits[$0] != nil ? $0 : nil })
                    ?? s.sidecarEdits.first(where: { $0.value.node == node })?.key else { return false }
            let count = s.sidecarEdits[key]!.bytes.count
            if Int(size) < count { s.sidecarEdits[key]!.bytes.removeLast(count - Int(size)) }
            else { s.sidecarEdits[key]!.bytes += [UInt8](repeating: 0, count: Int(size) - count) }
            s.sidecarEdits[key]!.dirty = true
            return true
        }
        if !done { throw FSError(EINVAL, "node \(node): a sidecar changes by writing JSON into it") }
    }

    /// The size a sidecar shows while its text is being written.
    func sidecarEditSize(_ node: NodeID) -> UInt64? {
        writes?.state.withLock { s in
            s.sidecarEdits.values.first(where: { $0.node == node && $0.dirty }).map { UInt64($0.bytes.count) }
        }
    }

    /// close(2) of a sidecar handle: applies what was written since the last close. Returns
    /// false for other handles.
    func flushSidecar(handle: UInt64) throws(FSError) -> Bool {
        guard let writes else { return false }
        let taken = writes.state.withLock { s -> SidecarBuffer?? in
            guard let edit = s.sidecarEdits[handle] else { return .none }
            s.sidecarEdits[handle]?.dirty = false
            return .some(edit.dirty ? edit : nil)
        }
        guard case .some(let pending) = taken else { return false }
        if let pending { try applySidecar(pending.bytes, to: pending.objectPath) }
        return true
    }

    /// release of a sidecar handle; a created sidecar that carries nothing goes away.
    func releaseSidecar(handle: UInt64) {
        guard let edit = writes?.state.withLock({ $0.sidecarEdits.removeValue(forKey: handle) }), edit.created else { return }
        do {
            try refreshSidecar(of: edit.objectPath)
        } catch {
            log("cannot refresh the sidecar of \(edit.objectPath): \(error.message)")
        }
    }

    /// rename(2) of a regular file over a sidecar: its text is applied, and it goes.
    func renameOverSidecar(source: Node, parent: NodeID, name: String, sidecar: Node) throws(FSError) {
        guard case .sidecar(0, let objectPath, _) = sidecar.kind else { throw FSError(EPERM, "not a sidecar") }
        guard case .dataset = source.kind, try attributes(of: source.id).size <= UInt64(SidecarEdit.maximumSize) else {
            throw FSError(EINVAL, "\(name): only a file of JSON can replace a sidecar")
        }
        let text = try read(source.id, handle: 0, offset: 0, size: Int(try attributes(of: source.id).size))
        try applySidecar(text, to: objectPath)
        try unlink(parent: parent, name: name)
    }

    /// Validates `text` against the object's current sidecar, then changes its attributes.
    func applySidecar(_ text: [UInt8], to path: H5Path) throws(FSError) {
        let reader = files.container.reader
        let info: ObjectInfo
        do { info = try reader.object(at: path) } catch { throw FSError(error, context: path.description) }
        switch info.kind {
        case .group:
            let current = SidecarBuilder.group(attributes: try groupAttributes(file: files.container, path: path).1)
            let edits = try SidecarEdit.edits(written: text, current: current)
            guard !edits.isEmpty else { return }
            try applyAttributeEdits(edits, at: path)
            try refreshAttributes(ofGroupAt: path, address: info.address)
        case .dataset:
            let node: Node
            do { node = try datasetNode(file: files.container, path: path, info: info) } catch {
                throw FSError(error, context: path.description)
            }
            guard case .dataset(_, _, _, let description) = node.kind else { throw FSError(EIO, "\(path): not a dataset") }
            let full = try fullInfo(description, at: path)
            try changeAttributes(of: node.id) { (current) throws(FSError) -> [AttributeEdit] in
                let shown = datasetSidecarJSON(full, rendering: description.rendering, attributes: current, file: files.container)
                return try SidecarEdit.edits(written: text, current: shown)
            }
        default:
            throw FSError(EIO, "\(path): neither a group nor a dataset")
        }
    }

    /// Brings the sidecar node of `path` in line with the object's attributes.
    private func refreshSidecar(of path: H5Path) throws(FSError) {
        let info: ObjectInfo
        do { info = try files.container.reader.object(at: path) } catch { throw FSError(error, context: path.description) }
        if info.kind == .group {
            try refreshAttributes(ofGroupAt: path, address: info.address)
        } else if let node = nodes.node(forKey: .object(file: 0, address: info.address)) {
            try refreshAttributes(ofDataset: node.id, at: path)
        } else {
            nodes.unbind(.sidecar(file: 0, address: info.address))
        }
    }
}
