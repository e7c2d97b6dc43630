import Glibc
import H5Model

/// Resolving names and listing directories: the namespace mapping of DESIGN.md §1.
extension ContainerFilesystem {
    /// The node `name` leads to in `directory`. Real objects win over sidecars of the same name.
    func child(of directory: Node, named name: String) throws(FSError) -> Node {
        switch directory.kind {
        case .externalRoot:
            let file: MountedFile
            do throws(FSError) {
                file = try files.externalFile(entry: name)
            } catch {
                // A link the policy refuses: the user gets EACCES, the log says why (once).
                if error.errno == EACCES { logOnce(error.message) }
                throw error
            }
            return try rootNode(of: file)
        case .directory(let fileIndex, let path, let address, _):
            let file = files[fileIndex]
            guard NameRules.isValidFileName(name) else { throw FSError.notFound(path.appending(name).description) }
            if fileIndex == 0, path.components.isEmpty, name == NameRules.unlinkedGroup {
                throw FSError.notFound("/\(name)")
            }
            // A file created by this session and still being written has no link yet.
            if fileIndex == 0, let pending = writes?.pendingNode(in: path, named: name), let node = nodes.node(pending) {
                return node
            }
            // A symbolic link of a listed large group: its block's node (LinkBlock.swift).
            if let node = linkBlocks.block(file: fileIndex, group: address)?.linkNode(named: name) { return node }
            // In a group this session made, a name it never gave a link has none: no libhdf5 call.
            let made = fileIndex == 0 ? writes : nil
            func mayHaveLink(_ name: String) -> Bool { made?.mayHaveLink(named: name, inGroup: address) ?? true }
            func linkHere(named name: String) throws(FSError) -> Link? {
                mayHaveLink(name) ? try link(named: name, in: path, file: file) : nil
            }
            if let link = try linkHere(named: name), let node = try node(for: link, in: file, directory: path, address: address) {
                return node
            }
            if name.hasSuffix(NameRules.sidecarSuffix) {
                let base = String(name.dropLast(NameRules.sidecarSuffix.count))
                if base.isEmpty {
                    if let sidecar = try groupSidecar(file: file, path: path, address: address) { return sidecar }
                } else if let link = try linkHere(named: base),
                          let target = try node(for: link, in: file, directory: path, address: address),
                          let sidecar = try datasetSidecar(of: target, file: file, address: addressOf(link)) {
                    return sidecar
                }
            }
            if let view = try viewNode(named: name, in: path, file: file, address: address, mayHaveLink: mayHaveLink) {
                return view
            }
            if fileIndex == 0, path.components.isEmpty, name == NameRules.externalDirectory, options.external != .none {
                return try externalRootNode()
            }
            throw FSError.notFound(path.appending(name).description)
        case .frames(let frames):
            guard let node = frames.node(named: name) else { throw FSError.notFound(name) }
            return node
        default:
            throw FSError(ENOTDIR, "node \(directory.id) is not a directory")
        }
    }

    /// Every entry of a directory; objects that cannot be shown are left out and logged once.
    func entries(of directory: Node) throws(FSError) -> [DirectoryEntry] {
        switch directory.kind {
        case .externalRoot:
            var out: [DirectoryEntry] = []
            for file in files.openedExternalFiles {
                guard let name = file.mountPrefix.last else { continue }
                out.append(DirectoryEntry(name: name, attributes: try rootNode(of: file).attributes))
            }
            return out
        case .directory(let fileIndex, let path, let address, _):
            return try groupEntries(file: files[fileIndex], path: path, address: address,
                                    links: Array(try linkList(of: files[fileIndex], path: path)))
        case .frames(let frames):
            return frames.entries()
        default:
            throw FSError(ENOTDIR, "node \(directory.id) is not a directory")
        }
    }

    /// The links of a group from the reader, a failure logged.
    func linkList(of file: MountedFile, path: H5Path) throws(FSError) -> LinkList {
        do {
            return try file.reader.linkList(in: path)
        } catch {
            let failure = FSError(error, context: path.description)
            logFailure("cannot list \(path)", failure)
            throw failure
        }
    }

    /// The entries of the group at `path` (at `address`) whose links are `links`.
    func groupEntries(file: MountedFile, path: H5Path, address: UInt64, links: [Link]) throws(FSError) -> [DirectoryEntry] {
        let fileIndex = file.index
        // The objects that need nodes, described in one reader call.
        let described = describeNewObjects(links, file: file, directory: path)
        var out: [DirectoryEntry] = []
        var taken = Set<String>()
        var sidecars: [DirectoryEntry] = []
        var views: [DirectoryEntry] = []
        let softTargets = SoftLinkTargets()
        for link in links {
            if fileIndex == 0, path.components.isEmpty, link.name == NameRules.unlinkedGroup { continue }
            guard NameRules.isValidFileName(link.name) else {
                // Quoted with escapes (a crafted name may hold "/", control bytes), cut short.
                let shown = String(link.name.debugDescription.prefix(80))
                logOnce("\(file.reader.filePath): \(path): left out a link whose name is not a valid file name: "
                        + "\(shown) (\(link.name.utf8.count) bytes)")
                continue
            }
            let description = addressOf(link).flatMap { described[$0] }
            guard let node = try node(for: link, in: file, directory: path, address: address,
                                      described: description, softTargets: softTargets) else { continue }
            taken.insert(link.name)
            // A file being written or stored: its current size (after its store).
            let current = fileIndex == 0 && writes?.active(node.id) != nil ? try attributes(of: node.id) : node.attributes
            out.append(DirectoryEntry(name: link.name, attributes: current))
            let sidecarName = link.name + NameRules.sidecarSuffix
            if NameRules.isValidFileName(sidecarName),
               let sidecar = try datasetSidecar(of: node, file: file, address: addressOf(link)) {
                sidecars.append(DirectoryEntry(name: sidecarName, attributes: sidecar.attributes))
            }
            views += try viewEntries(of: node, named: link.name)
        }
        if let sidecar = try groupSidecar(file: file, path: path, address: address) {
            sidecars.append(DirectoryEntry(name: NameRules.sidecarSuffix, attributes: sidecar.attributes))
        }
        // Real objects named like a sidecar or a view shadow it.
        for sidecar in sidecars + views where !taken.contains(sidecar.name) {
            out.append(sidecar)
            taken.insert(sidecar.name)
        }
        if fileIndex == 0, let writes {
            for (name, id) in writes.pendingNames(in: path) where !taken.contains(name) {
                out.append(DirectoryEntry(name: name, attributes: try attributes(of: id)))
            }
        }
        return out
    }

    // MARK: - Links to nodes

    func link(named name: String, in path: H5Path, file: MountedFile) throws(FSError) -> Link? {
        do {
            return try file.reader.link(named: name, in: path)
        } catch {
            let failure = FSError(error, context: path.appending(name).description)
            logFailure("cannot read link \(path.appending(name))", failure)
            throw failure
        }
    }

    /// Written as an exhaustive switch on purpose: the `if case` spelling crashes the
    /// Swift 6.3.1 optimizer (CopyPropagation) in `entries(of:)` under `-c release`.
    func addressOf(_ link: Link) -> UInt64? {
        switch link.target {
        case .hard(let address): return address
        case .soft, .external, .unknown: return nil
        }
    }

    /// The node a link of group `directory` (at `address`) stands for; nil for links
    /// that are not shown (user-defined classes, named datatypes). `described`: what a
    /// listing has read about a hard link's object already (else it is asked by path).
    func node(for link: Link, in file: MountedFile, directory: H5Path, address: UInt64,
              described: ObjectDescription? = nil, softTargets: SoftLinkTargets? = nil) throws(FSError) -> Node? {
        let path = directory.appending(link.name)
        switch link.target {
        case .hard(let objectAddress):
            if let known = nodes.node(forKey: .object(file: file.index, address: objectAddress)) {
                guard case .directory(_, _, _, let references) = known.kind, references > 1 else { return known }
                return try groupNode(known, orAliasAt: path, in: file, directory: directory, parent: address)
            }
            let info: ObjectInfo
            if let described {
                info = described.info
            } else {
                do {
                    info = try file.reader.object(at: path)
                } catch {
                    return try unreadableNode(file: file, parent: address, path: path, error: error)
                }
            }
            switch info.kind {
            case .group:
                let canonical = info.referenceCount > 1 ? canonicalPath(of: info.address, in: file, fallback: path) : path
                let group = try nodes.node(forKey: .object(file: file.index, address: info.address)) { id in
                    Node(id: id, kind: .directory(file: file.index, path: canonical, address: info.address,
                                                  referenceCount: info.referenceCount),
                         attributes: directoryAttributes(id: id, info: info, file: file, path: canonical))
                }
                return try groupNode(group, orAliasAt: path, in: file, directory: directory, parent: address)
            case .dataset:
                do {
                    return try datasetNode(file: file, path: path, info: info, summary: described?.summary)
                } catch {
                    return try unreadableNode(file: file, parent: address, path: path, error: error)
                }
            case .namedDatatype, .unknown:
                logOnce("\(file.reader.filePath): \(path): left out an object that is neither a group nor a dataset")
                return nil
            }
        case .soft:
            // A listed link has its node: walking its value again would cost lookups per link.
            let key = NodeKey.link(file: file.index, parent: address, name: link.name)
            if let known = nodes.node(forKey: key) { return known }
            guard let target = symlinkText(of: link.target, file: file, directory: directory, softTargets: softTargets) else { return nil }
            return try symlinkNode(key: key, target: target, file: file)
        case .external:
            guard let target = symlinkText(of: link.target, file: file, directory: directory) else { return nil }
            return try symlinkNode(key: .link(file: file.index, parent: address, name: link.name), target: target, file: file)
        case .unknown:
            logOnce("\(file.reader.filePath): \(path): left out a link of a user-defined class")
            return nil
        }
    }

    /// What a soft or external link of `directory` reads back as; nil for a link that is not
    /// shown (an external link under `-o external=none`, a hard link, a user-defined class).
    func symlinkText(of target: LinkTarget, file: MountedFile, directory: H5Path,
                     softTargets: SoftLinkTargets? = nil) -> String? {
        switch target {
        case .soft(let value):
            let text = softTargets?.targets[value] ?? softLinkTarget(value, file: file, directory: directory)
            softTargets?.targets[value] = text
            return text
        case .external(let externalFile, let object):
            // -o external=none: the link is not shown at all (nothing points outside the container).
            guard options.external != .none else { return nil }
            return NameRules.relativePath(
                from: file.mountComponents(directory),
                to: [NameRules.externalDirectory, NameRules.externalEntryName(forFile: externalFile)]
                    + H5Path(parsing: object).components)
        case .hard, .unknown:
            return nil
        }
    }

    /// A group with several hard links is a directory at its canonical path only;
    /// elsewhere it is a symbolic link to it.
    func groupNode(_ group: Node, orAliasAt path: H5Path, in file: MountedFile, directory: H5Path,
                   parent: UInt64) throws(FSError) -> Node {
        guard case .directory(_, let canonical, _, _) = group.kind, canonical != path else { return group }
        let target = NameRules.relativePath(from: file.mountComponents(directory), to: file.mountComponents(canonical))
        return try symlinkNode(key: .link(file: file.index, parent: parent, name: path.name), target: target, file: file)
    }

    /// Absolute soft links to objects of this file read back relative, so they
    /// resolve inside the mount wherever it is; anything else reads back verbatim.
    func softLinkTarget(_ value: String, file: MountedFile, directory: H5Path) -> String {
        guard value.hasPrefix("/") else { return value }
        let target = H5Path(parsing: value)
        guard SoftLinkWalk.target(of: value, in: file.reader) != nil else { return value }
        return NameRules.relativePath(from: file.mountComponents(directory), to: file.mountComponents(target))
    }

    func canonicalPath(of address: UInt64, in file: MountedFile, fallback: H5Path) -> H5Path {
        let table: [UInt64: H5Path] = file.canonicalGroups.withLock { $0 } ?? {
            let computed = (try? CanonicalGroupPaths.compute(file.reader)) ?? [:]
            file.canonicalGroups.withLock { $0 = computed }
            return computed
        }()
        return table[address] ?? fallback
    }

    func rootNode(of file: MountedFile) throws(FSError) -> Node {
        let info: ObjectInfo
        do {
            info = try file.reader.object(at: .root)
        } catch {
            throw FSError(error, context: file.reader.filePath)
        }
        return try nodes.node(forKey: .object(file: file.index, address: info.address)) { id in
            Node(id: id, kind: .directory(file: file.index, path: .root, address: info.address,
                                          referenceCount: info.referenceCount),
                 attributes: directoryAttributes(id: id, info: info, file: file, path: .root))
        }
    }

    func externalRootNode() throws(FSError) -> Node {
        let file = files.container
        return try nodes.node(forKey: .externalRoot) { id in
            Node(id: id, kind: .externalRoot,
                 attributes: makeAttributes(id: id, mode: S_IFDIR | 0o555, linkCount: 2, size: 0, time: file.fallbackTime))
        }
    }

    func symlinkNode(key: NodeKey, target: String, file: MountedFile) throws(FSError) -> Node {
        try nodes.node(forKey: key) { id in
            Node(id: id, kind: .symlink(target: target),
                 attributes: makeAttributes(id: id, mode: S_IFLNK | 0o777, linkCount: 1,
                                            size: UInt64(target.utf8.count), time: file.fallbackTime))
        }
    }

    /// An object libhdf5 cannot describe still lists (as an empty file); opening it answers EIO.
    /// Not logged here: the EIO a user meets is logged where it becomes a reply, once
    /// (docs/mounting.md, "Logs"); a listing alone is no error.
    func unreadableNode(file: MountedFile, parent: UInt64, path: H5Path, error: StoreError) throws(FSError) -> Node {
        return try nodes.node(forKey: .link(file: file.index, parent: parent, name: path.name)) { id in
            Node(id: id, kind: .unreadable(path: path, reason: error.message),
                 attributes: makeAttributes(id: id, mode: S_IFREG | fileMode(file), linkCount: 1, size: 0, time: file.fallbackTime))
        }
    }

    // MARK: - Attributes of nodes

    /// 0444 on a read-only mount and for externally linked files (always read-only), else 0644.
    func fileMode(_ file: MountedFile) -> UInt32 { isReadOnly || file.index != 0 ? 0o444 : 0o644 }

    func time(_ info: ObjectInfo, file: MountedFile) -> Timestamp {
        info.modificationTime.map { Timestamp(seconds: $0) } ?? file.fallbackTime
    }

    /// A group's attributes are read only when it has some (one may be `h5mount.stat`).
    func directoryAttributes(id: NodeID, info: ObjectInfo, file: MountedFile, path: H5Path) -> NodeAttributes {
        var attributes = makeAttributes(id: id, mode: S_IFDIR | 0o755, linkCount: 2, size: 0, time: time(info, file: file))
        if info.attributeCount > 0, let stored = (try? file.reader.attributes(of: path)).flatMap(StoredMetadata.init(attributes:)) {
            stored.apply(to: &attributes)
        }
        return attributes
    }

    func makeAttributes(id: NodeID, mode: UInt32, linkCount: UInt32, size: UInt64, time: Timestamp) -> NodeAttributes {
        NodeAttributes(node: id, mode: mode, linkCount: linkCount, size: size, uid: options.uid, gid: options.gid,
                       accessTime: time, modificationTime: time, changeTime: time)
    }
}
