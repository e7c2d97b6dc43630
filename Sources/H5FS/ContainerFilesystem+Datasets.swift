import Glibc
import H5Model

/// Dataset files and sidecars.
extension ContainerFilesystem {
    /// The node of a dataset, made on first sight: its description is read once,
    /// and text or JSON renderings are rendered then (their size is their length).
    /// `summary`: its type and shape when a listing has read them already.
    func datasetNode(file: MountedFile, path: H5Path, info: ObjectInfo,
                     summary: DatasetSummary? = nil) throws(StoreError) -> Node {
        let key = NodeKey.object(file: file.index, address: info.address)
        if let known = nodes.node(forKey: key) { return known }
        let made = try makeDatasetNode(file: file, path: path, info: info, summary: summary)
        do {
            return try nodes.node(forKey: key) { id in made.withID(id) }
        } catch {
            throw StoreError(.unreadable, error.message)
        }
    }

    /// A dataset's node, not yet in the table (its id is set when it is put there).
    func makeDatasetNode(file: MountedFile, path: H5Path, info: ObjectInfo,
                         summary known: DatasetSummary? = nil,
                         attributes knownAttributes: [Attribute]? = nil) throws(StoreError) -> Node {
        let reader = file.reader
        let summary: DatasetSummary
        if let known { summary = known } else { summary = try reader.datasetSummary(at: path) }
        let rendering = summary.type.rendering(rank: summary.shape?.count)
        let allAttributes: [Attribute]
        if let knownAttributes {
            allAttributes = knownAttributes
        } else {
            allAttributes = info.attributeCount > 0 ? try reader.attributes(of: path) : []
        }
        let attributes = allAttributes.filter { NameRules.isVisibleAttribute($0.name) }
        var dataset: DatasetInfo? = nil
        let content: NodeContent
        switch rendering {
        // Lazy contents keep the size they were listed with: not for a dataset a writer grows.
        case .bytes where attributes.isEmpty && !options.swmr:
            let count = (summary.shape ?? [0]).reduce(UInt64(1)) { $0.multipliedReportingOverflow(by: $1).partialValue }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: UInt64(summary.type.fixedSize ?? 0))
            guard !overflow else { throw StoreError(.unreadable, "\(path): dataset size overflows") }
            content = .lazyRawArray(LazyRawArray(byteCount: bytes, reader: reader, path: path, engine: engine,
                                                 virtualSources: nativeVirtualSources))
        case .bytes, .rawArray:
            let full = try reader.dataset(at: path)
            dataset = full
            do {
                content = .rawArray(try engine.dataset(reader: reader, path: path, info: full, followsWrites: options.swmr,
                                                       virtualSources: nativeVirtualSources))
            } catch {
                throw StoreError(.unreadable, error.message)
            }
        case .text:
            dataset = try reader.dataset(at: path)
            content = .rendered(TextRendering.text(try reader.readStrings(dataset: path)))
        case .jsonLines:
            dataset = try reader.dataset(at: path)
            content = .rendered(TextRendering.jsonLines(try reader.readJSONElements(dataset: path)))
        }
        let description = DatasetDescription(info: dataset, rendering: rendering, attributes: attributes)
        var nodeAttributes = makeAttributes(id: 0, mode: S_IFREG | fileMode(file),
                                            linkCount: UInt32(clamping: max(1, info.referenceCount)),
                                            size: content.size, time: time(info, file: file))
        StoredMetadata(attributes: allAttributes)?.apply(to: &nodeAttributes)
        return Node(id: 0, kind: .dataset(file: file.index, path: path, content: content, description: description),
                    attributes: nodeAttributes)
    }

    /// What the chunk engine reads virtual datasets' sources through; nil (libhdf5 reads
    /// them) when `HDF5_VDS_PREFIX` tells libhdf5 where to look (VirtualSourceTable.swift).
    var nativeVirtualSources: VirtualSourceTable? {
        VirtualSourceTable.prefixFromEnvironment ? nil : virtualSources
    }

    /// A dataset's sidecar JSON (SidecarBuilder), with the virtual mappings whose source
    /// file cannot be read marked `"missing": true`. Every sidecar of a dataset is built
    /// here, so what a writer compares a written sidecar with is what it read.
    func datasetSidecarJSON(_ info: DatasetInfo, rendering: DatasetRendering, attributes: [Attribute],
                            file: MountedFile) -> JSONValue {
        let missing = Set(info.virtualSources.indices.filter {
            virtualSources.isMissing(info.virtualSources[$0].file, of: file.reader)
        })
        return SidecarBuilder.dataset(info, rendering: rendering, attributes: attributes, missingSources: missing)
    }

    /// The sidecar `NAME.attrs` of a dataset node, if it has one.
    func datasetSidecar(of node: Node, file: MountedFile, address: UInt64?) throws(FSError) -> Node? {
        guard case .dataset(_, let path, _, let description) = node.kind, description.hasSidecar,
              let address, let info = description.info else { return nil }
        return try nodes.node(forKey: .sidecar(file: file.index, address: address)) { id in
            let json = datasetSidecarJSON(info, rendering: description.rendering,
                                          attributes: description.attributes, file: file)
            return sidecarNode(id: id, file: file, objectPath: path, json: json, time: node.attributes.modificationTime)
        }
    }

    /// The hidden `.attrs` of a group, when the group has user-visible attributes.
    func groupSidecar(file: MountedFile, path: H5Path, address: UInt64) throws(FSError) -> Node? {
        if let known = nodes.node(forKey: .sidecar(file: file.index, address: address)) { return known }
        let (info, attributes) = try groupAttributes(file: file, path: path)
        guard !attributes.isEmpty else { return nil }
        return try nodes.node(forKey: .sidecar(file: file.index, address: address)) { id in
            sidecarNode(id: id, file: file, objectPath: path, json: SidecarBuilder.group(attributes: attributes),
                        time: time(info, file: file))
        }
    }

    /// A group's user-visible attributes (read only when it has any attribute at all).
    func groupAttributes(file: MountedFile, path: H5Path) throws(FSError) -> (ObjectInfo, [Attribute]) {
        do {
            let info = try file.reader.object(at: path)
            guard info.attributeCount > 0 else { return (info, []) }
            return (info, try file.reader.attributes(of: path).filter { NameRules.isVisibleAttribute($0.name) })
        } catch {
            log("cannot read attributes of \(path): \(error.message)")
            throw FSError(error, context: path.description)
        }
    }

    /// `json` nil: an empty sidecar, being written for the first time.
    func sidecarNode(id: NodeID, file: MountedFile, objectPath: H5Path, json: JSONValue?, time: Timestamp) -> Node {
        let bytes = json.map { Array($0.prettyText.utf8) } ?? []
        return Node(id: id, kind: .sidecar(file: file.index, objectPath: objectPath, content: .rendered(bytes)),
                    attributes: makeAttributes(id: id, mode: S_IFREG | fileMode(file), linkCount: 1,
                                               size: UInt64(bytes.count), time: time))
    }
}

extension Node {
    /// The same node under another id (nodes are built before the table hands out the id).
    func withID(_ id: NodeID) -> Node {
        var attributes = self.attributes
        attributes.node = id
        return Node(id: id, kind: kind, attributes: attributes)
    }
}
