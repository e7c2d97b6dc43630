import Codecs
import Glibc
import H5FS
import H5Model
import HDF5

/// What `h5mount --info` reports: what a mount of the container would show at
/// the top, gathered read-only without mounting. Groups are walked once (each
/// object counted at its first path); external links are not followed, only
/// checked.
package struct ContainerInventory: Sendable, Equatable {
    package struct FilterUse: Sendable, Equatable {
        package var id: Int32
        package var name: String
        package var datasets: Int
        /// Decoded by Codecs' FilterPipeline; otherwise libhdf5 decodes it.
        package var native: Bool
    }
    package struct VirtualDataset: Sendable, Equatable {
        package var path: String
        /// Each distinct source file, in mapping order, and whether it exists.
        package var sources: [(file: String, present: Bool)]
        package static func == (a: Self, b: Self) -> Bool {
            a.path == b.path && a.sources.map(\.file) == b.sources.map(\.file)
                && a.sources.map(\.present) == b.sources.map(\.present)
        }
    }
    package enum ExternalStatus: String, Sendable, Equatable {
        case resolves, missingFile = "missing file", notHDF5 = "not HDF5", missingObject = "missing object"
        /// A mount follows it only with `-o external=any`; --info does not open it either.
        case outside = "outside the container's directory"
    }
    package struct ExternalLink: Sendable, Equatable {
        package var path: String
        package var file: String
        package var object: String
        package var status: ExternalStatus
    }

    package var path: String
    package var groups = 0
    package var datasets = 0
    package var namedDatatypes = 0
    package var hardLinks = 0
    package var softLinks = 0
    package var externalLinks: [ExternalLink] = []
    package var otherLinks = 0
    package var filters: [FilterUse] = []
    package var virtualDatasets: [VirtualDataset] = []
    /// Objects that could not be read (path: reason); the rest is still reported.
    package var problems: [String] = []
}

/// Opens `path` read-only and takes the inventory. Errors opening the
/// container map to the exit statuses of a mount (3 not HDF5, 4 unavailable).
package func takeInventory(of path: String) throws(CLIError) -> ContainerInventory {
    let absolute = try checkContainer(path)
    let container: HDF5Container
    do {
        // Contained as a mount is (docs/hdf5-store.md): an object that crashes libhdf5 is a problem line.
        container = try HDF5Container.open(path: absolute, containment: Containment(timeLimit: 10))
    } catch {
        switch error.kind {
        case .notHDF5: throw CLIError(.notHDF5, "h5mount: \(path): not an HDF5 file")
        case .notFound, .accessDenied: throw CLIError(.containerUnavailable, "h5mount: \(path): \(error.message)")
        default: throw CLIError(.containerUnavailable, "h5mount: \(path): \(error.message)")
        }
    }
    defer { container.close() }
    var walk = InventoryWalk(container: container, directory: parentDirectory(absolute),
                             inventory: ContainerInventory(path: absolute))
    walk.visitGroup(.root)
    return walk.inventory
}

private struct InventoryWalk {
    let container: HDF5Container
    let directory: String
    var inventory: ContainerInventory
    var seen: Set<UInt64> = []
    var filterIndex: [Int32: Int] = [:]

    mutating func visitGroup(_ group: H5Path) {
        if let root = try? container.object(at: group), group == .root {
            seen.insert(root.address)
            inventory.groups += 1
        }
        let links: [Link]
        do {
            links = try container.links(in: group)
        } catch {
            inventory.problems.append("\(group): \(error.message)")
            return
        }
        for link in links {
            let path = group.appending(link.name)
            switch link.target {
            case .hard(let address):
                inventory.hardLinks += 1
                guard seen.insert(address).inserted else { continue }
                visitObject(path)
            case .soft:
                inventory.softLinks += 1
            case .external(let file, let object):
                inventory.externalLinks.append(.init(path: path.description, file: file, object: object,
                                                     status: externalStatus(file: file, object: object)))
            case .unknown:
                inventory.otherLinks += 1
            }
        }
    }

    mutating func visitObject(_ path: H5Path) {
        let info: ObjectInfo
        do {
            info = try container.object(at: path)
        } catch {
            inventory.problems.append("\(path): \(error.message)")
            return
        }
        switch info.kind {
        case .group:
            inventory.groups += 1
            visitGroup(path)
        case .dataset:
            inventory.datasets += 1
            visitDataset(path)
        case .namedDatatype:
            inventory.namedDatatypes += 1
        case .unknown:
            break
        }
    }

    mutating func visitDataset(_ path: H5Path) {
        let info: DatasetInfo
        do {
            info = try container.dataset(at: path)
        } catch {
            inventory.problems.append("\(path): \(error.message)")
            return
        }
        for filter in info.filters {
            if let index = filterIndex[filter.id] {
                inventory.filters[index].datasets += 1
            } else {
                filterIndex[filter.id] = inventory.filters.count
                inventory.filters.append(.init(id: filter.id, name: filter.name, datasets: 1,
                                               native: FilterPipeline.canDecode([filter])))
            }
        }
        if info.layout == .virtual {
            var files: [String] = []
            for source in info.virtualSources where !files.contains(source.file) { files.append(source.file) }
            inventory.virtualDatasets.append(.init(path: path.description,
                                                   sources: files.map { ($0, virtualSourceExists($0)) }))
        }
    }

    /// libhdf5's search for a source file: "." is this file; an absolute name
    /// as given, then relative to the container's directory (the prefix the
    /// mount sets), then its base name there.
    func virtualSourceExists(_ file: String) -> Bool {
        if file == "." { return true }
        var candidates = file.hasPrefix("/") ? [file] : [directory + "/" + file]
        if let slash = file.lastIndex(of: "/") {
            candidates.append(directory + "/" + file[file.index(after: slash)...])
        }
        return candidates.contains { access($0, F_OK) == 0 }
    }

    /// Relative names resolve against the container's directory, as the mount does; a file
    /// outside it (symbolic links resolved) is reported, not opened (`-o external=dir`).
    func externalStatus(file: String, object: String) -> ContainerInventory.ExternalStatus {
        let resolved: String
        do {
            resolved = try ExternalFileLocation.resolve(name: file, directory: directory, policy: .directory)
        } catch {
            return .outside
        }
        guard access(resolved, F_OK) == 0 else { return .missingFile }
        guard let target = try? HDF5Container.open(path: resolved) else { return .notHDF5 }
        defer { target.close() }
        return (try? target.object(at: H5Path(parsing: object))) == nil ? .missingObject : .resolves
    }
}
