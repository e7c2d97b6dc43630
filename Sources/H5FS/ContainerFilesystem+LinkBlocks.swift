import Glibc
import H5Model

/// Listing a large group of a read-only mount once, into a `LinkBlock` (LinkBlock.swift says
/// why): its symbolic links get arithmetic ids and no node, its hard links their object's
/// node as in any listing. Later listings of the group reuse the block and ask libhdf5 nothing.
extension ContainerFilesystem {
    /// Whether groups are listed into link blocks: only where nothing changes under a listing.
    var makesLinkBlocks: Bool { isReadOnly && refreshes == nil }

    /// The listing of a directory node, with its group's link block where it has one.
    func listing(of directory: Node) throws(FSError) -> DirectoryListing {
        guard makesLinkBlocks, case .directory(let fileIndex, let path, let address, _) = directory.kind else {
            return DirectoryListing(entries: try entries(of: directory))
        }
        if let block = linkBlocks.block(file: fileIndex, group: address) { return DirectoryListing(block: block) }
        let file = files[fileIndex]
        let links = try linkList(of: file, path: path)
        guard links.count >= max(1, options.linkBlockMinimum), links.isSearchable else {
            return DirectoryListing(entries: try groupEntries(file: file, path: path, address: address, links: Array(links)))
        }
        return DirectoryListing(block: linkBlocks.add(try makeLinkBlock(links, file: file, path: path, address: address)))
    }

    /// What `groupEntries` shows of the same links, as a block: the same entries in the same
    /// order, the same names left out and logged, sidecars and views after the links.
    private func makeLinkBlock(_ links: LinkList, file: MountedFile, path: H5Path, address: UInt64) throws(FSError) -> LinkBlock {
        let firstID = nodes.reserveIDs(UInt64(links.count))
        let softTargets = SoftLinkTargets()
        let resolved = links.targets.map { target -> String? in
            if case .unknown = target {
                logOnce("\(file.reader.filePath): \(path): left out a link of a user-defined class")
            }
            return symlinkText(of: target, file: file, directory: path, softTargets: softTargets)
        }
        // The objects hard links lead to that need nodes, described in one reader call.
        let hardIndices = links.indices.filter { links.isHard($0) }
        let described = describeNewObjects(hardIndices.map { links[$0] }, file: file, directory: path)
        var hard: [Int: NodeAttributes] = [:]
        var hidden = Set<Int>()
        var sidecars: [DirectoryEntry] = []
        var views: [DirectoryEntry] = []
        for index in links.indices {
            let name = links.name(at: index)
            if file.index == 0, path.components.isEmpty, name == NameRules.unlinkedGroup {
                hidden.insert(index)
                continue
            }
            guard NameRules.isValidFileName(name) else {
                let shown = String(name.debugDescription.prefix(80))
                logOnce("\(file.reader.filePath): \(path): left out a link whose name is not a valid file name: "
                        + "\(shown) (\(name.utf8.count) bytes)")
                hidden.insert(index)
                continue
            }
            guard let objectAddress = links.address(at: index) else {
                if links.targetNumber(at: index).flatMap({ resolved[$0] }) == nil { hidden.insert(index) }
                continue
            }
            let link = Link(name: name, target: .hard(address: objectAddress))
            guard let node = try node(for: link, in: file, directory: path, address: address,
                                      described: described[objectAddress]) else {
                hidden.insert(index)
                continue
            }
            hard[index] = node.attributes
            let sidecarName = name + NameRules.sidecarSuffix
            if NameRules.isValidFileName(sidecarName),
               let sidecar = try datasetSidecar(of: node, file: file, address: objectAddress) {
                sidecars.append(DirectoryEntry(name: sidecarName, attributes: sidecar.attributes))
            }
            views += try viewEntries(of: node, named: name)
        }
        if let sidecar = try groupSidecar(file: file, path: path, address: address) {
            sidecars.append(DirectoryEntry(name: NameRules.sidecarSuffix, attributes: sidecar.attributes))
        }
        // Real objects named like a sidecar or a view shadow it.
        var extras: [DirectoryEntry] = []
        var taken = Set<String>()
        for extra in sidecars + views {
            if let index = links.index(named: extra.name), !hidden.contains(index) { continue }
            if taken.insert(extra.name).inserted { extras.append(extra) }
        }
        let linkAttributes = makeAttributes(id: 0, mode: S_IFLNK | 0o777, linkCount: 1, size: 0, time: file.fallbackTime)
        return LinkBlock(file: file.index, group: address, links: links, firstID: firstID, resolved: resolved,
                         linkAttributes: linkAttributes, hard: hard, hidden: hidden, extras: extras)
    }
}
