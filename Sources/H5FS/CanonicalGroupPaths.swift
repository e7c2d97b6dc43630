import H5Model

/// The canonical path of every group: the first path to it in breadth-first
/// order (fewest components), ties broken by byte order of the whole path.
/// A group with several hard links is a directory only there; its other paths
/// are symbolic links to it, so `find` and `ls -R` always end, cycles included.
enum CanonicalGroupPaths {
    /// One walk over the file's hard links; each group is expanded once.
    static func compute(_ reader: ContainerReader) throws(StoreError) -> [UInt64: H5Path] {
        let root = try reader.object(at: .root)
        var canonical: [UInt64: H5Path] = [root.address: .root]
        var level: [H5Path] = [.root]
        while !level.isEmpty {
            var next: [H5Path] = []
            for group in level {
                // A group that cannot be listed keeps its children out of the walk; a
                // failure here must not lose the paths already found (cycles rely on them).
                guard let links = try? reader.links(in: group) else { continue }
                for link in links {
                    guard case .hard(let address) = link.target, canonical[address] == nil else { continue }
                    let child = group.appending(link.name)
                    // Unreadable children are skipped here; they answer EIO where they are listed.
                    guard let info = try? reader.object(at: child), info.kind == .group else { continue }
                    next.append(child)
                }
            }
            next.sort { NameRules.precedesInByteOrder($0.description, $1.description) }
            level = []
            for path in next {
                // A group met twice in one level keeps its first (byte-order) path.
                guard let info = try? reader.object(at: path), canonical[info.address] == nil else { continue }
                canonical[info.address] = path
                level.append(path)
            }
        }
        return canonical
    }
}
