import H5Model

/// Listing a directory describes the objects its links lead to in one reader call
/// (`ContainerReader.describeObjects`: for libhdf5, each object opened once by address
/// instead of three walks from the root by path), before their nodes are made.
extension ContainerFilesystem {
    /// What the reader says about the objects hard links of `links` lead to that have no
    /// node yet, by address (each object once). Objects it cannot describe are left out:
    /// making their nodes asks again by path and reports the error as it always did.
    func describeNewObjects(_ links: [Link], file: MountedFile, directory: H5Path) -> [UInt64: ObjectDescription] {
        var wanted: [(path: H5Path, address: UInt64)] = []
        var seen = Set<UInt64>()
        for link in links where NameRules.isValidFileName(link.name) {
            guard let address = addressOf(link), seen.insert(address).inserted,
                  nodes.node(forKey: .object(file: file.index, address: address)) == nil else { continue }
            wanted.append((path: directory.appending(link.name), address: address))
        }
        guard !wanted.isEmpty else { return [:] }
        var found: [UInt64: ObjectDescription] = [:]
        for (object, result) in zip(wanted, file.reader.describeObjects(wanted)) {
            switch result {
            case .success(let description): found[object.address] = description
            case .failure: continue
            }
        }
        return found
    }
}
