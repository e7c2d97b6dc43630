import Glibc
import H5Model
import Synchronization

/// A ContainerReader served from memory, so the namespace mapping can be tested
/// on shapes that are awkward to build with libhdf5 (unreadable objects, odd names).
final class InMemoryContainer: ContainerReader, @unchecked Sendable {
    enum Object {
        case group(address: UInt64, links: [Link], attributes: [Attribute])
        case dataset(address: UInt64, info: DatasetInfo, attributes: [Attribute], bytes: [UInt8], strings: [String], json: [JSONValue])
        case broken(address: UInt64)
    }

    let filePath: String
    /// Objects by address; paths resolve by walking hard and soft links from the root (address 1).
    private(set) var objects: [UInt64: Object] = [:]
    private var nextAddress: UInt64 = 2
    /// How often the full description of a dataset was asked for.
    private(set) var fullDescriptions = 0
    /// How often one link was looked up by name (soft-link walks do that).
    private(set) var linkLookups = 0
    /// How often a group was listed.
    private(set) var listings = 0
    private var referenceCounts: [UInt64: Int] = [:]

    init(filePath: String) {
        self.filePath = filePath
        objects[1] = .group(address: 1, links: [], attributes: [])
        referenceCounts[1] = 1
    }

    // MARK: building

    @discardableResult
    func addGroup(_ path: String, attributes: [Attribute] = []) -> UInt64 {
        let address = allocate()
        objects[address] = .group(address: address, links: [], attributes: attributes)
        addLink(path, .hard(address: address))
        return address
    }

    @discardableResult
    func addDataset(_ path: String, type: DataType, shape: [UInt64]?, bytes: [UInt8] = [], strings: [String] = [],
                    json: [JSONValue] = [], attributes: [Attribute] = [], layout: StorageLayout = .compact,
                    filters: [FilterSpec] = [], maxShape: [UInt64?]? = nil, fill: JSONValue? = nil) -> UInt64 {
        let address = allocate()
        let info = DatasetInfo(type: type, shape: shape, maxShape: maxShape ?? shape?.map { Optional($0) }, layout: layout,
                               filters: filters, fillValue: fill, fillValueBytes: nil,
                               storageSize: UInt64(bytes.count), virtualSources: [])
        objects[address] = .dataset(address: address, info: info, attributes: attributes, bytes: bytes, strings: strings, json: json)
        addLink(path, .hard(address: address))
        return address
    }

    func addBroken(_ path: String) {
        let address = allocate()
        objects[address] = .broken(address: address)
        addLink(path, .hard(address: address))
    }

    func addLink(_ path: String, _ target: LinkTarget) {
        let p = H5Path(parsing: path)
        guard let parentAddress = resolve(p.parent), case .group(let a, var links, let attrs)? = objects[parentAddress] else {
            preconditionFailure("no parent group for \(path)")
        }
        links.append(Link(name: p.name, target: target))
        links.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        objects[parentAddress] = .group(address: a, links: links, attributes: attrs)
        if case .hard(let address) = target { referenceCounts[address, default: 0] += 1 }
    }

    private func allocate() -> UInt64 {
        defer { nextAddress += 1 }
        return nextAddress
    }

    // MARK: resolving

    /// The address of the object a path leads to.
    func groupAddress(_ path: String) -> UInt64? { resolve(H5Path(parsing: path)) }

    private func resolve(_ path: H5Path) -> UInt64? {
        var current: UInt64 = 1
        for name in path.components {
            guard case .group(_, let links, _)? = objects[current],
                  let link = links.first(where: { $0.name == name }) else { return nil }
            switch link.target {
            case .hard(let address): current = address
            case .soft(let value):
                guard value.hasPrefix("/"), let address = resolve(H5Path(parsing: value)) else { return nil }
                current = address
            default: return nil
            }
        }
        return current
    }

    private func lookup(_ path: H5Path) throws(StoreError) -> Object {
        guard let address = resolve(path), let object = objects[address] else {
            throw StoreError(.notFound, "\(path): not found")
        }
        return object
    }

    // MARK: ContainerReader

    func object(at path: H5Path) throws(StoreError) -> ObjectInfo {
        switch try lookup(path) {
        case .group(let address, _, let attributes):
            return ObjectInfo(kind: .group, address: address, referenceCount: referenceCounts[address] ?? 1,
                              modificationTime: nil, attributeCount: attributes.count)
        case .dataset(let address, _, let attributes, _, _, _):
            return ObjectInfo(kind: .dataset, address: address, referenceCount: referenceCounts[address] ?? 1,
                              modificationTime: 1_700_000_000, attributeCount: attributes.count)
        case .broken:
            throw StoreError(.unreadable, "bad object header")
        }
    }

    func links(in group: H5Path) throws(StoreError) -> [Link] {
        listings += 1
        return try storedLinks(in: group)
    }

    private func storedLinks(in group: H5Path) throws(StoreError) -> [Link] {
        guard case .group(_, let links, _) = try lookup(group) else { throw StoreError(.invalidArgument, "not a group") }
        return links
    }

    func link(named name: String, in group: H5Path) throws(StoreError) -> Link? {
        linkLookups += 1
        return try storedLinks(in: group).first { $0.name == name }
    }

    func dataset(at path: H5Path) throws(StoreError) -> DatasetInfo {
        fullDescriptions += 1
        guard case .dataset(_, let info, _, _, _, _) = try lookup(path) else { throw StoreError(.invalidArgument, "not a dataset") }
        return info
    }

    func datasetSummary(at path: H5Path) throws(StoreError) -> DatasetSummary {
        guard case .dataset(_, let info, _, _, _, _) = try lookup(path) else { throw StoreError(.invalidArgument, "not a dataset") }
        return DatasetSummary(type: info.type, shape: info.shape)
    }

    func attributes(of path: H5Path) throws(StoreError) -> [Attribute] {
        switch try lookup(path) {
        case .group(_, _, let attributes), .dataset(_, _, let attributes, _, _, _): return attributes
        case .broken: throw StoreError(.unreadable, "bad object header")
        }
    }

    func chunkLocations(dataset path: H5Path, chunks: [[UInt64]]) throws(StoreError) -> [ChunkLocation?] {
        chunks.map { _ in nil }
    }

    func readBlock(dataset path: H5Path, start: [UInt64], count: [UInt64], into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) {
        guard case .dataset(_, let info, _, let bytes, _, _) = try lookup(path), let size = info.type.fixedSize,
              let shape = info.shape else { throw StoreError(.invalidArgument, "not readable") }
        // C-order walk over the block, copying one element at a time: simple and only for tests.
        let total = count.reduce(1, *)
        var index = [UInt64](repeating: 0, count: count.count)
        for n in 0..<Int(total) {
            var flat: UInt64 = 0
            for d in 0..<shape.count { flat = flat * shape[d] + start[d] + index[d] }
            for b in 0..<size { buffer[n * size + b] = bytes[Int(flat) * size + b] }
            var d = count.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < count[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    func readStrings(dataset path: H5Path) throws(StoreError) -> [String] {
        guard case .dataset(_, _, _, _, let strings, _) = try lookup(path) else { throw StoreError(.invalidArgument, "not a dataset") }
        return strings
    }

    func readJSONElements(dataset path: H5Path) throws(StoreError) -> [JSONValue] {
        guard case .dataset(_, _, _, _, _, let json) = try lookup(path) else { throw StoreError(.invalidArgument, "not a dataset") }
        return json
    }
}
